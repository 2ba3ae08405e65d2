"""The kit's frugality targets, checked on each result that has int8 and baseline rows.

- full-size models only (at least 1 GMAC per image, such as ViT-B/32): int8 through the
  device runtime, preprocessing included, reaches a p50 latency at least 10x lower than the
  naive baseline's at the same thread count. Its peak RSS is at most 25% of the baseline's,
  and its model file at most 26% of the fp32 file;
- top-1 agreement of int8 with fp32 of at least 99% (trained bundles only, since random
  weights make agreement meaningless);
- the live runtime's own overhead below 10% of frame time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["TargetCheck", "check_live_run", "check_result"]

MIN_SPEEDUP = 10.0
MAX_RSS_FRACTION = 0.25
MAX_SIZE_FRACTION = 0.26
MIN_AGREEMENT = 0.99
MAX_OVERHEAD_FRACTION = 0.10
FULL_SIZE_MIN_MACS = 1e9  # ViT-B/32 at 224 px counts 4.4 G; the tiny test models a few M


@dataclass(frozen=True)
class TargetCheck:
    """One target, the measured value and whether it is met."""

    subject: str
    target: str
    measured: str
    met: bool


def _int8_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for row in result["rows"] if row["kind"] == "bundle-variant" and "int8" in row["variant"] and row["valid"]]


def check_result(result: dict[str, Any]) -> list[TargetCheck]:
    """Return the target checks that a result's rows allow; rows without a baseline skip the ratio targets."""
    checks = []
    machine, bundle = result["machine"]["name"], result["bundle"]["name"]
    data = result["data"].get("split") or Path(result["data"]["path"]).name
    full_size = (result["bundle"].get("macs_per_image") or 0) >= FULL_SIZE_MIN_MACS
    fp32_size = result["bundle"].get("variants", {}).get("fp32", {}).get("size_bytes")
    for row in _int8_rows(result):
        subject = f"{bundle} {row['variant']} threads={row['threads']} on {machine}, {result['data']['images']} images of {data}"
        ratios = (row.get("vs_baseline") or {}) if full_size else {}
        if ratios.get("speedup_p50_total") is not None:
            speedup = ratios["speedup_p50_total"]
            checks.append(TargetCheck(subject, f"p50 latency ≥ {MIN_SPEEDUP:g}x lower than the naive baseline",
                                      f"{speedup:.1f}x", speedup >= MIN_SPEEDUP))
        if ratios.get("peak_rss_fraction") is not None:
            fraction = ratios["peak_rss_fraction"]
            checks.append(TargetCheck(subject, f"peak RSS ≤ {MAX_RSS_FRACTION:.0%} of the baseline's",
                                      f"{fraction:.1%}", fraction <= MAX_RSS_FRACTION))
        if row.get("agreement_with_fp32") is not None and row.get("weights") != "random":
            agreement = row["agreement_with_fp32"]
            checks.append(TargetCheck(subject, f"top-1 agreement with fp32 ≥ {MIN_AGREEMENT:.0%}",
                                      f"{agreement:.1%} on {len(row.get('predictions') or [])} images", agreement >= MIN_AGREEMENT))

    sizes = {row["variant"]: row["size_bytes"] for row in _int8_rows(result) if row.get("size_bytes") and full_size}
    for variant, size in sorted(sizes.items()):
        if fp32_size:
            fraction = size / fp32_size
            checks.append(TargetCheck(f"{bundle} {variant}", f"file ≤ {MAX_SIZE_FRACTION:.0%} of fp32",
                                      f"{fraction:.1%} ({size / 1e6:.1f} MB of {fp32_size / 1e6:.1f} MB)",
                                      fraction <= MAX_SIZE_FRACTION))
    return checks


def check_live_run(summary: dict[str, Any], name: str) -> TargetCheck:
    """Return the runtime overhead check of a live run's summary."""
    fraction = summary["overhead_fraction"]
    return TargetCheck(f"live run {name}", f"runtime overhead < {MAX_OVERHEAD_FRACTION:.0%} of frame time",
                       f"{fraction:.1%} over {summary['frames']} frames", fraction < MAX_OVERHEAD_FRACTION)
