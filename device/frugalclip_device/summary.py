"""End-of-run statistics: counts, FPS, latency percentiles, energy, labels, drops, throttling."""

from __future__ import annotations

import json
import math
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Sequence
from typing import Any

import numpy as np

from .vcgencmd import decode_throttled

__all__ = ["FrameStats", "latency_percentiles_ms", "write_summary"]

PERCENTILES = (50, 90, 99)


def latency_percentiles_ms(values_ms: Sequence[float] | array) -> dict[str, float | None]:
    """Return p50, p90 and p99 (linear interpolation, as numpy.percentile) or None without data."""
    if len(values_ms) == 0:
        return {f"p{p}": None for p in PERCENTILES}
    data = np.frombuffer(values_ms, dtype=np.float64) if isinstance(values_ms, array) else np.asarray(values_ms, dtype=np.float64)
    return {f"p{p}": round(float(value), 4) for p, value in zip(PERCENTILES, np.percentile(data, PERCENTILES))}


@dataclass
class FrameStats:
    """Per-frame figures accumulated by the runner; compact arrays, appended once per frame."""

    total_ms: array = field(default_factory=lambda: array("d"))
    inference_ms: array = field(default_factory=lambda: array("d"))
    preprocess_ms: array = field(default_factory=lambda: array("d"))
    label_counts: Counter = field(default_factory=Counter)
    log_ms_sum: float = 0.0
    energy_j_sum: float = 0.0
    energy_frames: int = 0

    @property
    def frames(self) -> int:
        return len(self.total_ms)

    def add(self, *, total_ms: float, inference_ms: float, preprocess_ms: float, label: str, energy_j: float) -> None:
        self.total_ms.append(total_ms)
        self.inference_ms.append(inference_ms)
        self.preprocess_ms.append(preprocess_ms)
        self.label_counts[label] += 1
        if not math.isnan(energy_j):
            self.energy_j_sum += energy_j
            self.energy_frames += 1

    def overhead_fraction(self) -> float | None:
        """Share of the runtime's per-frame work spent outside ``session.run``.

        (sum(total_ms) + sum(log_ms) - sum(inference_ms)) / (sum(total_ms) + sum(log_ms)).
        """
        busy_ms = sum(self.total_ms) + self.log_ms_sum
        if busy_ms <= 0:
            return None
        return round((busy_ms - sum(self.inference_ms)) / busy_ms, 6)


def throttling_summary(flags_seen: int | None) -> dict[str, Any]:
    if flags_seen is None:
        return {"available": False, "flags_seen": None, "conditions": []}
    return {"available": True, "flags_seen": hex(flags_seen), "conditions": decode_throttled(flags_seen)}


def write_summary(summary: dict[str, Any], path: Path) -> Path:
    """Write the summary JSON; never overwrites (adds -2, -3 ... like the CSV)."""
    candidate = path
    counter = 2
    while True:
        try:
            with open(candidate, "x", encoding="utf-8") as handle:
                handle.write(json.dumps(summary, indent=2) + "\n")
            return candidate
        except FileExistsError:
            candidate = path.with_name(f"{path.name.removesuffix('.summary.json')}-{counter}.summary.json")
            counter += 1
