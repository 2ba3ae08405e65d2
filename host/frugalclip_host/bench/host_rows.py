"""Add the host-only figures to a device benchmark result: naive baseline rows, machine ceiling, ratios.

The baseline runs on the result's own image list and thread counts, in the same benchmark
command, so that every ratio compares measurements of one run.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from frugalclip_device.bench.classification import accuracy, macro_f1
from frugalclip_device.bench.runner import WEIGHTS_LABELS
from frugalclip_device.bench.stats import summarize_ms
from frugalclip_device.bench.throttling import take_snapshot, throttling_reasons

from ..model_source import TINY_CLIP_SOURCE_ID
from ..weights_kind import WeightsKind, read_weights_kind
from .mac_count import count_macs_per_image
from .machine_ceiling import DEFAULT_MATRIX_SIDE, measure_peak_gmacs
from .naive_baseline import measure_baseline, measure_baseline_peak_rss

__all__ = ["BASELINE_VARIANT", "BaselineSourceError", "add_host_rows", "resolve_clip_dir"]

logger = logging.getLogger(__name__)

BASELINE_VARIANT = "transformers-fp32"
_WEIGHT_SUFFIXES = (".safetensors", ".bin")


class BaselineSourceError(ValueError):
    """No CLIP directory for the naive baseline of a bundle."""


def resolve_clip_dir(result: dict[str, Any], clip_model: Path | None, scratch: Path) -> Path:
    """Return the CLIP directory for the baseline: ``clip_model``, the bundle's source, or a rebuilt one.

    The embedded tiny CLIP and, for a bundle with random weights whose source directory is
    gone, a random ViT-B/32 are rebuilt in ``scratch``. Both have the bundle's architecture,
    so latency and memory are comparable even though the weights differ.
    """
    if clip_model is not None:
        if not (Path(clip_model) / "config.json").is_file():
            raise BaselineSourceError(f"--clip-model {clip_model} is not a CLIP directory (no config.json)")
        return Path(clip_model)

    source = str(result["bundle"].get("source_model", {}).get("id") or "")
    if source and (Path(source) / "config.json").is_file():
        return Path(source)
    if source == TINY_CLIP_SOURCE_ID:
        from ..tiny_clip import build_tiny_clip

        logger.info("bundle source is the embedded tiny CLIP: building it with its default settings for the baseline")
        return build_tiny_clip(scratch / "tiny-clip")
    if result["bundle"].get("weights") == WeightsKind.RANDOM.value and result["bundle"].get("image_size_px") == 224:
        from ..tiny_clip import build_random_vitb32

        logger.info("bundle source %r not found locally: building a random-weight ViT-B/32 for the baseline", source)
        return build_random_vitb32(scratch / "random-vitb32")
    raise BaselineSourceError(
        f"the bundle's source model {source!r} is not a local CLIP directory; pass --clip-model DIR "
        "(the CLIP directory the bundle was exported from)"
    )


def _weights_size_bytes(clip_dir: Path) -> int:
    return sum(path.stat().st_size for path in clip_dir.iterdir() if path.suffix in _WEIGHT_SUFFIXES)


def _baseline_row(result: dict[str, Any], clip_dir: Path, threads: int, runs: int, warmup: int,
                  measure_rss: bool, on_progress: Callable[[int], None] | None) -> dict[str, Any]:
    labels = result["bundle"]["labels"]
    image_paths = [Path(path) for path in result["data"]["image_paths"]]
    before = take_snapshot()
    measurement = measure_baseline(clip_dir, labels, image_paths, threads=threads, runs=runs, warmup=warmup,
                                   on_progress=on_progress)
    reasons = throttling_reasons(before, take_snapshot())
    weights = read_weights_kind(clip_dir).value
    total_ms = [pre + model for pre, model in zip(measurement.preprocess_ms, measurement.model_ms)]
    latency_total = summarize_ms(total_ms)
    latency_model = summarize_ms(measurement.model_ms)
    row: dict[str, Any] = {
        "kind": "naive-baseline",
        "variant": BASELINE_VARIANT,
        "precision": "fp32",
        "quantization": None,
        "weights": weights,
        "weights_label": WEIGHTS_LABELS.get(weights, weights),
        "clip_dir": str(clip_dir),
        "threads": threads,
        "valid": not reasons,
        "invalid_reasons": reasons,
        "size_bytes": _weights_size_bytes(clip_dir),
        "load_time_ms": measurement.load_time_ms,
        "peak_rss_bytes": None,
        "accuracy": None,
        "macro_f1": None,
        "agreement_with_fp32": None,
        "latency_model_ms": latency_model,
        "latency_total_ms": latency_total,
        "latency_preprocess_ms": summarize_ms(measurement.preprocess_ms),
        "latency_total_ms_samples": [round(value, 3) for value in total_ms],
        "fps_end_to_end": 1000.0 / latency_total["mean"],
        "throughput_batch1_fps": 1000.0 / latency_model["mean"],
        "throughput_batch_fps": None,
        "batch_size": 1,
        "energy_per_inference_j": None,
        "energy_source": None,
        "co2_g_per_1000": None,
        "predictions": measurement.predictions,
        "note": "zero-shot: text prompts and image encoded for every frame",
    }
    if result["data"]["labelled"] and weights != WeightsKind.RANDOM.value:
        truth = result["data"].get("label_indices")
        if truth:
            row["accuracy"] = accuracy(truth, measurement.predictions)
            row["macro_f1"] = macro_f1(truth, measurement.predictions)
    if measure_rss:
        rss_images = image_paths[: result["settings"].get("rss_images", 10)]
        row["peak_rss_bytes"] = measure_baseline_peak_rss(clip_dir, labels, rss_images, threads)
    return row


def _add_ratios(rows: list[dict[str, Any]]) -> None:
    """Set each bundle row's speed-up and memory fraction against the baseline row of the same thread count."""
    baselines = {row["threads"]: row for row in rows if row["kind"] == "naive-baseline" and row["valid"]}
    for row in rows:
        baseline = baselines.get(row["threads"])
        if row["kind"] != "bundle-variant" or not row["valid"] or baseline is None:
            continue
        ratios = {
            "speedup_p50_total": baseline["latency_total_ms"]["p50"] / row["latency_total_ms"]["p50"],
            "speedup_p50_model": baseline["latency_model_ms"]["p50"] / row["latency_model_ms"]["p50"],
            "speedup_fps": row["fps_end_to_end"] / baseline["fps_end_to_end"],
            "peak_rss_fraction": (row["peak_rss_bytes"] / baseline["peak_rss_bytes"])
            if row.get("peak_rss_bytes") and baseline.get("peak_rss_bytes") else None,
            "size_fraction": row["size_bytes"] / baseline["size_bytes"] if baseline.get("size_bytes") else None,
        }
        row["vs_baseline"] = ratios


def _add_ceiling(result: dict[str, Any], thread_counts: list[int]) -> None:
    """Record the peak matmul rates and each bundle row's achieved rate as a percentage of them."""
    ceiling = {"fp32_gmacs_per_s": {}, "int8_gmacs_per_s": {}, "matrix_side": None}
    for threads in thread_counts:
        ceiling["fp32_gmacs_per_s"][str(threads)] = measure_peak_gmacs("fp32", threads)
        ceiling["int8_gmacs_per_s"][str(threads)] = measure_peak_gmacs("int8", threads)
    ceiling["matrix_side"] = DEFAULT_MATRIX_SIDE
    result["ceiling"] = ceiling

    bundle_dir = Path(result["bundle"]["path"])
    fp32_file = result["bundle"]["variants"].get("fp32", {}).get("file")
    macs = count_macs_per_image(bundle_dir / fp32_file) if fp32_file else None
    result["bundle"]["macs_per_image"] = macs
    for row in result["rows"]:
        # The baseline also runs the text tower, which these MACs leave out.
        if macs is None or row["kind"] != "bundle-variant":
            continue
        achieved = macs / (row["latency_model_ms"]["p50"] / 1000) / 1e9
        row["achieved_gmacs_per_s"] = achieved
        peak_key = "int8_gmacs_per_s" if "int8" in row["variant"] else "fp32_gmacs_per_s"
        peak = ceiling[peak_key].get(str(row["threads"]))
        row["ceiling_percent"] = 100 * achieved / peak if peak else None


def add_host_rows(
    result: dict[str, Any],
    *,
    clip_model: Path | None = None,
    runs: int | None = None,
    warmup: int | None = None,
    measure_rss: bool = True,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Measure the naive baseline at each thread count of ``result``, the ceiling and the ratios; return ``result``."""
    settings = result["settings"]
    thread_counts = sorted({row["threads"] for row in result["rows"]}) or settings["threads"]
    runs = runs or settings["runs"]
    warmup = settings["warmup"] if warmup is None else warmup
    result["rows"] = [row for row in result["rows"] if row["kind"] != "naive-baseline"]

    with tempfile.TemporaryDirectory(prefix="frugalclip-bench-") as scratch:
        clip_dir = resolve_clip_dir(result, clip_model, Path(scratch))
        for threads in thread_counts:
            task = f"naive baseline @ {threads} threads"
            total = runs * len(result["data"]["image_paths"])
            done = 0

            def advance(count: int, task: str = task, total: int = total) -> None:
                nonlocal done
                done += count
                if on_progress is not None:
                    on_progress(task, done, total)

            row = _baseline_row(result, clip_dir, threads, runs, warmup, measure_rss, advance)
            if not row["valid"]:
                result["invalid_reasons"].append(f"{task}: {'; '.join(row['invalid_reasons'])}")
                result["valid"] = False
            result["rows"].append(row)

    _add_ratios(result["rows"])
    _add_ceiling(result, thread_counts)
    return result
