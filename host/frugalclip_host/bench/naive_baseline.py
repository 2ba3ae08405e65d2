"""The naive baseline: transformers CLIPModel and CLIPProcessor in PyTorch fp32, as a first prototype runs CLIP.

For every frame it decodes the image, runs the processor on the image and on one text
prompt per class, and runs the whole CLIP model (text and vision towers) to get zero-shot
probabilities. Nothing is cached between frames, which is the point of the comparison.
Gradients are off (``torch.inference_mode``), so the baseline is not slower than it needs to be.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import CLIPModel, CLIPProcessor

from frugalclip_device.bench.peak_rss import process_peak_rss_bytes

__all__ = ["BaselineMeasurement", "measure_baseline", "measure_baseline_peak_rss", "prompts_for"]

logger = logging.getLogger(__name__)

_RSS_TIMEOUT_S = 900


def prompts_for(labels: list[str]) -> list[str]:
    """Return one zero-shot prompt per class, "a photo of a white glass" for ``white_glass``."""
    return [f"a photo of a {label.replace('_', ' ').replace('-', ' ')}" for label in labels]


@dataclass
class BaselineMeasurement:
    """Raw timings and first-run predictions of the baseline at one thread count."""

    threads: int
    load_time_ms: float
    preprocess_ms: list[float] = field(default_factory=list)
    model_ms: list[float] = field(default_factory=list)
    predictions: list[int] = field(default_factory=list)


def _load(clip_dir: Path) -> tuple[CLIPModel, CLIPProcessor]:
    model = CLIPModel.from_pretrained(clip_dir, local_files_only=True).eval()
    # The slow (PIL) image processor is what a first prototype gets; asking for it by name
    # also keeps transformers from printing its "Using a slow image processor" notice.
    processor = CLIPProcessor.from_pretrained(clip_dir, local_files_only=True, use_fast=False)
    return model, processor


def _classify(model: CLIPModel, processor: CLIPProcessor, prompts: list[str], path: Path) -> tuple[np.ndarray, float, float]:
    """Return (probabilities, preprocess ms, model ms) for one image file."""
    begin = time.perf_counter()
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    inputs = processor(text=prompts, images=image, return_tensors="pt", padding=True)
    preprocessed = time.perf_counter()
    with torch.inference_mode():
        probabilities = model(**inputs).logits_per_image.softmax(dim=-1)[0].numpy()
    finished = time.perf_counter()
    return probabilities, (preprocessed - begin) * 1000, (finished - preprocessed) * 1000


def measure_baseline(
    clip_dir: Path,
    labels: list[str],
    image_paths: list[Path],
    *,
    threads: int,
    runs: int,
    warmup: int,
    on_progress: Callable[[int], None] | None = None,
) -> BaselineMeasurement:
    """Time the naive baseline over ``image_paths`` ``runs`` times at ``threads`` PyTorch threads."""
    torch.set_num_threads(threads)
    started = time.perf_counter()
    model, processor = _load(clip_dir)
    measurement = BaselineMeasurement(threads, (time.perf_counter() - started) * 1000)
    prompts = prompts_for(labels)

    for index in range(warmup):
        _classify(model, processor, prompts, image_paths[index % len(image_paths)])
    for run in range(runs):
        for path in image_paths:
            probabilities, preprocess_ms, model_ms = _classify(model, processor, prompts, path)
            measurement.preprocess_ms.append(preprocess_ms)
            measurement.model_ms.append(model_ms)
            if run == 0:
                measurement.predictions.append(int(np.argmax(probabilities)))
            if on_progress is not None:
                on_progress(1)
    logger.info("naive baseline at %d threads: %d timed images", threads, len(measurement.model_ms))
    return measurement


def measure_baseline_peak_rss(clip_dir: Path, labels: list[str], image_paths: list[Path], threads: int) -> int:
    """Return the peak RSS in bytes of a fresh process that runs the baseline on ``image_paths``."""
    with tempfile.TemporaryDirectory(prefix="frugalclip-baseline-") as scratch:
        request = Path(scratch) / "request.json"
        request.write_text(json.dumps({"labels": labels, "images": [str(path) for path in image_paths]}))
        command = [sys.executable, "-m", "frugalclip_host.bench.naive_baseline",
                   "--clip-dir", str(clip_dir), "--threads", str(threads), "--request", str(request)]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=_RSS_TIMEOUT_S, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"peak RSS measurement of the naive baseline failed: {completed.stderr.strip()[-500:]}")
    return int(json.loads(completed.stdout.strip().splitlines()[-1])["peak_rss_bytes"])


def _main() -> None:
    parser = argparse.ArgumentParser(description="Print the peak RSS of the naive transformers baseline on some images.")
    parser.add_argument("--clip-dir", type=Path, required=True, help="CLIP directory (config, weights, processor)")
    parser.add_argument("--threads", type=int, required=True, help="PyTorch intra-op threads")
    parser.add_argument("--request", type=Path, required=True, help='JSON file {"labels": [...], "images": [...]}')
    arguments = parser.parse_args()

    request = json.loads(arguments.request.read_text())
    torch.set_num_threads(arguments.threads)
    model, processor = _load(arguments.clip_dir)
    prompts = prompts_for(request["labels"])
    for path in request["images"]:
        _classify(model, processor, prompts, Path(path))
    print(json.dumps({"peak_rss_bytes": process_peak_rss_bytes()}))


if __name__ == "__main__":
    _main()
