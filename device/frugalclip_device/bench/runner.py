"""Run the benchmark suite over a bundle's variants and thread counts and build the result object."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..bundle import Bundle, load_bundle
from ..session import physical_core_count
from .carbon import carbon_intensity_g_per_kwh, co2_g_per_1000
from .classification import accuracy, macro_f1, top1_agreement
from .dataset import BenchImages, find_images
from .energy_meter import open_energy_meter
from .fingerprint import machine_fingerprint
from .peak_rss import measure_variant_peak_rss
from .result_schema import RESULT_KIND, RESULT_SCHEMA_VERSION, write_raw_csv, write_result
from .stats import summarize_ms
from .throttling import CommandRunner, run_vcgencmd, take_snapshot, throttling_reasons
from .variant_run import VariantMeasurement, measure_variant

__all__ = ["BenchSettings", "WEIGHTS_LABELS", "default_thread_counts", "result_path", "run_benchmark", "save_run"]

logger = logging.getLogger(__name__)

# Labels of rows by weights kind, printed with every figure of a non-pretrained bundle.
WEIGHTS_LABELS = {
    "random": "random weights",
    "tiny-random-init": "tiny random-init model: not a measure of CLIP accuracy",
    "pretrained": "pretrained",
}
_SAMPLE_DECIMALS = 3


def default_thread_counts() -> list[int]:
    """Return 1 and the physical core count: the single-thread cost and the whole machine."""
    return sorted({1, physical_core_count()})


@dataclass
class BenchSettings:
    """Settings of one benchmark run; the defaults suit a Raspberry Pi as well as a workstation."""

    variants: list[str] | None = None  # None: every variant of the bundle
    threads: list[int] = field(default_factory=default_thread_counts)
    runs: int = 3  # timed passes over the images
    warmup: int = 5  # untimed inferences before each variant's timed passes
    batch_size: int = 8  # for the batched throughput
    limit: int | None = None  # images, balanced between classes
    cooldown_s: float = 0.0  # wait before each variant after the first
    country: str = "FRA"  # ISO alpha-3 code for the grid's carbon intensity
    measure_rss: bool = True
    rss_images: int = 10  # images classified by the fresh process that measures peak RSS

    def check(self) -> None:
        """Raise ValueError naming the first setting out of range."""
        if self.runs < 1:
            raise ValueError(f"--runs must be at least 1, got {self.runs}")
        if self.warmup < 0:
            raise ValueError(f"--warmup must be 0 or more, got {self.warmup}")
        if self.batch_size < 1:
            raise ValueError(f"--batch-size must be at least 1, got {self.batch_size}")
        if not self.threads or min(self.threads) < 1:
            raise ValueError(f"--threads must list counts of at least 1, got {self.threads}")
        if self.cooldown_s < 0:
            raise ValueError(f"--cooldown-s must be 0 or more, got {self.cooldown_s}")


def _bundle_summary(bundle: Bundle) -> dict[str, Any]:
    return {
        "path": str(bundle.path),
        "name": bundle.manifest.get("name", bundle.path.name),
        "weights": bundle.weights,
        "weights_label": WEIGHTS_LABELS.get(bundle.weights, bundle.weights),
        "source_model": bundle.manifest.get("source_model", {}),
        "labels": bundle.labels,
        "default_variant": bundle.default_variant,
        "image_size_px": bundle.contract.image_size,
        "variants": {name: {"file": v.path.name, "precision": v.precision, "size_bytes": v.size_bytes} for name, v in bundle.variants.items()},
    }


def _load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def _build_row(
    bundle: Bundle,
    images: BenchImages,
    measurement: VariantMeasurement,
    intensity_g_per_kwh: float,
    reasons: list[str],
    before: dict[str, Any],
    after: dict[str, Any],
) -> dict[str, Any]:
    variant = bundle.variant(measurement.variant)
    total_ms = [pre + model for pre, model in zip(measurement.preprocess_ms, measurement.model_ms)]
    latency_model = summarize_ms(measurement.model_ms)
    latency_total = summarize_ms(total_ms)
    energy = measurement.energy
    inferences = len(measurement.model_ms)
    energy_per_inference_j = energy.energy_j / inferences if energy and inferences else None

    row: dict[str, Any] = {
        "kind": "bundle-variant",
        "variant": measurement.variant,
        "precision": variant.precision,
        "quantization": variant.quantization,
        "weights": bundle.weights,
        "weights_label": WEIGHTS_LABELS.get(bundle.weights, bundle.weights),
        "threads": measurement.threads,
        "valid": not reasons,
        "invalid_reasons": reasons,
        "size_bytes": variant.size_bytes,
        "load_time_ms": measurement.load_time_ms,
        "peak_rss_bytes": None,
        "accuracy": None,
        "macro_f1": None,
        "agreement_with_fp32": None,
        "latency_model_ms": latency_model,
        "latency_total_ms": latency_total,
        "latency_preprocess_ms": summarize_ms(measurement.preprocess_ms),
        "latency_total_ms_samples": [round(value, _SAMPLE_DECIMALS) for value in total_ms],
        "fps_end_to_end": 1000.0 / latency_total["mean"],
        "throughput_batch1_fps": 1000.0 / latency_model["mean"],
        "throughput_batch_fps": measurement.batch_throughput_fps,
        "batch_size": measurement.batch_size,
        "energy_per_inference_j": energy_per_inference_j,
        "energy_source": energy.source if energy else None,
        "co2_g_per_1000": co2_g_per_1000(energy_per_inference_j, intensity_g_per_kwh) if energy_per_inference_j is not None else None,
        "throttling_before": before,
        "throttling_after": after,
        "predictions": measurement.predictions,
    }
    # Random weights predict noise: their accuracy is not reported at all.
    if images.labelled and bundle.weights != "random":
        row["accuracy"] = accuracy(images.label_indices, measurement.predictions)
        row["macro_f1"] = macro_f1(images.label_indices, measurement.predictions)
    return row


def _add_agreement(rows: list[dict[str, Any]]) -> None:
    """Set each row's top-1 agreement with the fp32 row of the same thread count."""
    references = {row["threads"]: row["predictions"] for row in rows if row["variant"] == "fp32"}
    for row in rows:
        reference = references.get(row["threads"])
        if reference is not None and len(reference) == len(row["predictions"]):
            row["agreement_with_fp32"] = top1_agreement(reference, row["predictions"])


def run_benchmark(
    bundle_dir: Path,
    data_dir: Path,
    settings: BenchSettings,
    *,
    command: str,
    sysfs_root: Path = Path("/"),
    run_command: CommandRunner | None = run_vcgencmd,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Benchmark every requested variant and thread count; return (result object, raw per-image rows).

    ``on_progress(task, done, total)`` is called after each image, with the task naming the
    variant and thread count.
    """
    settings.check()
    bundle = load_bundle(bundle_dir)
    variants = settings.variants or list(bundle.variants)
    for name in variants:
        bundle.variant(name)  # raises BundleError naming the available variants
    images = find_images(data_dir, bundle.labels, limit=settings.limit)
    intensity_g_per_kwh, intensity_source = carbon_intensity_g_per_kwh(settings.country)
    energy_meter = open_energy_meter(sysfs_root)
    if bundle.weights != "pretrained":
        logger.warning("bundle %s: %s", bundle.path, WEIGHTS_LABELS.get(bundle.weights, f"{bundle.weights} weights"))

    result: dict[str, Any] = {
        "schema_version": RESULT_SCHEMA_VERSION,
        "kind": RESULT_KIND,
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
        "valid": True,
        "invalid_reasons": [],
        "machine": machine_fingerprint(sysfs_root),
        "bundle": _bundle_summary(bundle),
        "data": {
            "path": str(images.root),
            "split": images.split,
            "images": len(images.paths),
            "labelled": images.labelled,
            "image_paths": [str(path) for path in images.paths],
            "label_indices": images.label_indices,
            "images_per_folder": images.images_per_folder,
            "unknown_folders": images.unknown_folders,
            "skipped_images": len(images.skipped),
            "skipped_image_paths": [str(item.path) for item in images.skipped],
            "skipped_image_reasons": [item.reason for item in images.skipped],
        },
        "settings": {**asdict(settings), "variants": variants, "energy_source": energy_meter.source,
                     "energy_source_description": energy_meter.description,
                     "carbon_intensity_g_per_kwh": intensity_g_per_kwh, "carbon_intensity_source": intensity_source},
        "load_average_before": _load_average(),
        "throttling_before": take_snapshot(sysfs_root, run_command).to_dict(),
        "rows": [],
    }

    raw_rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for threads in settings.threads:
        for position, variant in enumerate(variants):
            if settings.cooldown_s and (position or threads != settings.threads[0]):
                logger.info("cooling down for %.0f s before %s", settings.cooldown_s, variant)
                time.sleep(settings.cooldown_s)
            task = f"{variant} @ {threads} threads"
            total = settings.runs * len(images.paths)
            done = 0

            def advance(count: int, task: str = task, total: int = total) -> None:
                nonlocal done
                done += count
                if on_progress is not None:
                    on_progress(task, done, total)

            before = take_snapshot(sysfs_root, run_command)
            measurement = measure_variant(
                bundle, variant, images.paths, images.label_indices,
                threads=threads, runs=settings.runs, warmup=settings.warmup, batch_size=settings.batch_size,
                energy_meter=energy_meter, on_progress=advance,
            )
            after = take_snapshot(sysfs_root, run_command)
            reasons = throttling_reasons(before, after)
            row = _build_row(bundle, images, measurement, intensity_g_per_kwh, reasons, before.to_dict(), after.to_dict())
            if settings.measure_rss:
                row["peak_rss_bytes"] = measure_variant_peak_rss(bundle.path, variant, threads, images.paths[: settings.rss_images])
            if reasons:
                logger.warning("%s was throttled, its row is marked invalid: %s", task, "; ".join(reasons))
                result["invalid_reasons"].append(f"{task}: {'; '.join(reasons)}")
            result["rows"].append(row)
            raw_rows.extend(measurement.raw_rows)
            logger.info("%s: p50 %.1f ms with preprocessing, %.1f ms model only",
                        task, row["latency_total_ms"]["p50"], row["latency_model_ms"]["p50"])

    energy_meter.close()
    _add_agreement(result["rows"])
    result["valid"] = not result["invalid_reasons"]
    result["duration_s"] = time.perf_counter() - started
    result["load_average_after"] = _load_average()
    result["throttling_after"] = take_snapshot(sysfs_root, run_command).to_dict()
    return result, raw_rows


def result_path(results_root: Path, result: dict[str, Any]) -> Path:
    """Return ``<results_root>/<machine>/<timestamp>.json`` for a result."""
    stamp = result["created_utc"].replace(":", "").replace("-", "")
    return Path(results_root) / result["machine"]["name"] / f"{stamp}.json"


def save_run(result: dict[str, Any], raw_rows: list[dict[str, Any]], json_path: Path) -> Path:
    """Write the raw per-image CSV beside ``json_path``, then the result JSON that names it."""
    json_path = Path(json_path)
    csv_path = json_path.with_suffix(".csv")
    write_raw_csv(raw_rows, csv_path)
    result["raw_csv"] = csv_path.name
    return write_result(result, json_path)
