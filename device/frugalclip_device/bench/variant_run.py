"""Measure one bundle variant at one thread count: load time, latency, throughput, predictions, energy."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..bundle import Bundle
from ..preprocess import load_image_rgb, preprocess_image
from ..session import Classifier
from .energy_meter import BenchEnergyMeter, EnergySpan

__all__ = ["VariantMeasurement", "measure_variant"]

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]  # called with the number of images just processed


@dataclass
class VariantMeasurement:
    """Raw measurements of one variant at one thread count, before statistics."""

    variant: str
    threads: int
    load_time_ms: float
    preprocess_ms: list[float] = field(default_factory=list)
    model_ms: list[float] = field(default_factory=list)
    predictions: list[int] = field(default_factory=list)  # first run only, one per image
    confidences: list[float] = field(default_factory=list)
    raw_rows: list[dict] = field(default_factory=list)
    batch_size: int = 1
    batch_throughput_fps: float | None = None
    energy: EnergySpan | None = None


def measure_variant(
    bundle: Bundle,
    variant: str,
    image_paths: list[Path],
    true_labels: list[int] | None,
    *,
    threads: int,
    runs: int,
    warmup: int,
    batch_size: int,
    energy_meter: BenchEnergyMeter,
    on_progress: ProgressCallback | None = None,
) -> VariantMeasurement:
    """Run ``variant`` over ``image_paths`` ``runs`` times, as the live runtime handles frames.

    Each image is decoded, resized and cropped, then classified at batch 1; the two steps
    are timed separately, so latency with and without preprocessing comes from the same
    inferences. The energy span covers those timed passes, preprocessing included. The
    first ``warmup`` inferences are not timed. Batched throughput is measured afterwards on
    the already preprocessed images.
    """
    started = time.perf_counter()
    classifier = Classifier.from_bundle(bundle, variant, threads=threads)
    measurement = VariantMeasurement(variant, classifier.threads, (time.perf_counter() - started) * 1000)

    arrays = [preprocess_image(load_image_rgb(path), bundle.contract) for path in image_paths]
    for index in range(warmup):
        classifier.predict(arrays[index % len(arrays)][np.newaxis])

    energy_meter.start()
    for run in range(runs):
        for index, path in enumerate(image_paths):
            begin = time.perf_counter()
            array = preprocess_image(load_image_rgb(path), bundle.contract)
            preprocessed = time.perf_counter()
            probabilities = classifier.predict(array[np.newaxis])[0]
            finished = time.perf_counter()

            preprocess_ms = (preprocessed - begin) * 1000
            model_ms = (finished - preprocessed) * 1000
            predicted = int(np.argmax(probabilities))
            measurement.preprocess_ms.append(preprocess_ms)
            measurement.model_ms.append(model_ms)
            if run == 0:
                measurement.predictions.append(predicted)
                measurement.confidences.append(float(probabilities[predicted]))
            measurement.raw_rows.append({
                "variant": variant,
                "threads": measurement.threads,
                "run": run,
                "image": str(path),
                "true_label": bundle.labels[true_labels[index]] if true_labels is not None else "",
                "predicted_label": bundle.labels[predicted],
                "confidence": round(float(probabilities[predicted]), 6),
                "preprocess_ms": round(preprocess_ms, 4),
                "model_ms": round(model_ms, 4),
                "total_ms": round(preprocess_ms + model_ms, 4),
            })
            if on_progress is not None:
                on_progress(1)
    measurement.energy = energy_meter.stop()

    measurement.batch_size = max(1, min(batch_size, len(arrays)))
    stacked = np.stack(arrays)
    started = time.perf_counter()
    for begin in range(0, len(arrays), measurement.batch_size):
        classifier.predict(stacked[begin : begin + measurement.batch_size])
    measurement.batch_throughput_fps = len(arrays) / (time.perf_counter() - started)
    return measurement
