"""Summary statistics of latency samples."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["LATENCY_PERCENTILES", "summarize_ms"]

LATENCY_PERCENTILES = (50, 90, 99)


def summarize_ms(samples_ms: Sequence[float]) -> dict[str, float | int]:
    """Return count, mean, std, min, max, p50, p90 and p99 of latency samples in milliseconds.

    Percentiles use linear interpolation between the closest ranks (NumPy's default), so
    p50 of 1..100 is 50.5. The standard deviation is the sample one (ddof=1), 0.0 for a
    single sample.
    """
    values = np.asarray(samples_ms, dtype=np.float64)
    if values.size == 0:
        raise ValueError("cannot summarize an empty list of latency samples; run at least one image after warm-up")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"latency samples contain non-finite values: {values[~np.isfinite(values)][:5].tolist()}")

    summary: dict[str, float | int] = {
        "count": int(values.size),
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)) if values.size > 1 else 0.0,
        "min": float(values.min()),
        "max": float(values.max()),
    }
    for percentile in LATENCY_PERCENTILES:
        summary[f"p{percentile}"] = float(np.percentile(values, percentile))
    return summary
