"""Read a per-frame CSV of ``frugalclip-device run`` and summarize latency and the runtime's own overhead.

The runtime's overhead per frame is everything on the inference thread except the ONNX
Runtime session call: preprocessing, top-k, smoothing, and writing the CSV row. Capture runs
in its own thread and is not counted. The runtime's ``log_ms`` column contains the previous
frame's logging time, so the row sums still add up over a run.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

from frugalclip_device.bench.stats import summarize_ms

__all__ = ["LiveRunError", "summarize_live_run"]

logger = logging.getLogger(__name__)

# Candidate column names, first match wins: whole frame time, and the session call alone.
TOTAL_COLUMNS = ("total_ms", "frame_ms", "latency_ms", "end_to_end_ms")
INFERENCE_COLUMNS = ("inference_ms", "model_ms", "session_ms", "infer_ms")
ENERGY_COLUMNS = ("energy_j", "frame_energy_j")
LOG_COLUMN = "log_ms"  # time spent writing the CSV row, outside total_ms


class LiveRunError(ValueError):
    """A live-run CSV without the columns needed to summarize it."""


def _pick(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    return next((name for name in candidates if name in columns), None)


def _floats(rows: list[dict[str, str]], column: str) -> list[float]:
    values = []
    for row in rows:
        try:
            values.append(float(row[column]))
        except (TypeError, ValueError):
            continue
    return values


def summarize_live_run(path: Path) -> dict[str, Any]:
    """Return frames, total and inference latency statistics and the overhead fraction of a live-run CSV."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [row for row in csv.DictReader(line for line in handle if not line.startswith("#"))]
    except OSError as error:
        raise LiveRunError(f"cannot read live-run CSV {path}: {error}") from error
    columns = list(rows[0]) if rows else []
    total_column, inference_column = _pick(columns, TOTAL_COLUMNS), _pick(columns, INFERENCE_COLUMNS)
    if total_column is None or inference_column is None:
        raise LiveRunError(
            f"{path} has columns {columns}; a live-run CSV needs a frame time column (one of {list(TOTAL_COLUMNS)}) "
            f"and a session time column (one of {list(INFERENCE_COLUMNS)})"
        )

    total_ms, inference_ms = _floats(rows, total_column), _floats(rows, inference_column)
    if not total_ms or len(total_ms) != len(inference_ms):
        raise LiveRunError(f"{path}: {len(total_ms)} frame times but {len(inference_ms)} session times; rows are incomplete")
    if LOG_COLUMN in columns:
        # Shift back by one row; the last frame's logging time is not in the file.
        log_ms = [float(row[LOG_COLUMN]) if row[LOG_COLUMN] else 0.0 for row in rows[1:]] + [0.0]
        total_ms = [total + log for total, log in zip(total_ms, log_ms)]
    overhead_ms = [total - inference for total, inference in zip(total_ms, inference_ms)]
    summary: dict[str, Any] = {
        "path": str(path),
        "frames": len(total_ms),
        "columns": {"total": total_column, "inference": inference_column},
        "latency_total_ms": summarize_ms(total_ms),
        "latency_inference_ms": summarize_ms(inference_ms),
        "overhead_ms": summarize_ms(overhead_ms),
        "overhead_fraction": sum(overhead_ms) / sum(total_ms),
        "latency_total_ms_samples": [round(value, 3) for value in total_ms],
    }
    energy_column = _pick(columns, ENERGY_COLUMNS)
    if energy_column:
        energy = _floats(rows, energy_column)
        summary["energy_per_frame_j"] = sum(energy) / len(energy) if energy else None
    for column in ("variant", "model", "source", "energy_source"):
        if column in columns and rows[0].get(column):
            summary[column] = rows[0][column]
    return summary
