"""The benchmark result file: version, required fields, validation, reading and writing.

A result is one JSON object per run, written to ``<results root>/<machine>/<timestamp>.json``
with the raw per-image timings beside it as ``<timestamp>.csv``. Row kinds:
``bundle-variant`` (a model of the bundle through the device runtime) and, on the host,
``naive-baseline`` (transformers CLIPModel and CLIPProcessor in PyTorch).
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

__all__ = [
    "RAW_CSV_COLUMNS",
    "RESULT_SCHEMA_VERSION",
    "ResultFileError",
    "load_result",
    "validate_result",
    "write_raw_csv",
    "write_result",
]

logger = logging.getLogger(__name__)

RESULT_SCHEMA_VERSION = 1
RESULT_KIND = "frugalclip-benchmark"

# Top-level fields and their JSON types.
_REQUIRED_TOP_LEVEL = {
    "schema_version": int,
    "kind": str,
    "created_utc": str,
    "command": str,
    "valid": bool,
    "invalid_reasons": list,
    "machine": dict,
    "bundle": dict,
    "data": dict,
    "settings": dict,
    "rows": list,
}
_REQUIRED_ROW = {
    "kind": str,
    "variant": str,
    "weights": str,
    "threads": int,
    "valid": bool,
    "latency_model_ms": dict,
    "latency_total_ms": dict,
}
_ROW_KINDS = ("bundle-variant", "naive-baseline")
_LATENCY_KEYS = ("count", "mean", "std", "p50", "p90", "p99")

RAW_CSV_COLUMNS = (
    "variant", "threads", "run", "image", "true_label", "predicted_label", "confidence",
    "preprocess_ms", "model_ms", "total_ms",
)


class ResultFileError(ValueError):
    """A benchmark result file that cannot be read or does not follow the schema."""


def validate_result(data: Any) -> list[str]:
    """Return the schema problems of a result object; an empty list means it is valid."""
    if not isinstance(data, dict):
        return [f"a result must be a JSON object, got {type(data).__name__}"]
    problems = []
    for key, expected in _REQUIRED_TOP_LEVEL.items():
        if key not in data:
            problems.append(f"missing field {key!r}")
        elif not isinstance(data[key], expected):
            problems.append(f"field {key!r} must be {expected.__name__}, got {type(data[key]).__name__}")
    if problems:
        return problems
    if data["schema_version"] != RESULT_SCHEMA_VERSION:
        problems.append(f"schema_version {data['schema_version']} is not the supported version {RESULT_SCHEMA_VERSION}")
    if data["kind"] != RESULT_KIND:
        problems.append(f"kind {data['kind']!r} is not {RESULT_KIND!r}")
    if "name" not in data["machine"]:
        problems.append("machine has no 'name'")

    for index, row in enumerate(data["rows"]):
        if not isinstance(row, dict):
            problems.append(f"rows[{index}] must be an object")
            continue
        for key, expected in _REQUIRED_ROW.items():
            if key not in row:
                problems.append(f"rows[{index}] misses field {key!r}")
            elif not isinstance(row[key], expected) or (expected is int and isinstance(row[key], bool)):
                problems.append(f"rows[{index}].{key} must be {expected.__name__}, got {type(row[key]).__name__}")
        if row.get("kind") not in _ROW_KINDS:
            problems.append(f"rows[{index}].kind {row.get('kind')!r} is not one of {list(_ROW_KINDS)}")
        for latency_key in ("latency_model_ms", "latency_total_ms"):
            latency = row.get(latency_key)
            if isinstance(latency, dict) and latency:
                missing = [key for key in _LATENCY_KEYS if key not in latency]
                if missing:
                    problems.append(f"rows[{index}].{latency_key} misses {missing}")
        if row.get("weights") == "random" and row.get("accuracy") is not None:
            problems.append(f"rows[{index}] has random weights but reports an accuracy")
    return problems


def load_result(path: Path) -> dict[str, Any]:
    """Read and validate a result file, raising ResultFileError that names the file and the problems."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ResultFileError(f"cannot read benchmark result {path}: {error}") from error
    problems = validate_result(data)
    if problems:
        hint = ""
        if not isinstance(data, dict) or data.get("kind") != RESULT_KIND:
            hint = (
                "; it is not a file of `frugalclip-device bench` or `frugalclip bench run`: pass only their result "
                "JSON files and live-run CSVs, and keep other JSON files out of benchmarks/results/ so that "
                "benchmarks/results/*/*.json matches results only"
            )
        raise ResultFileError(f"{path} is not a valid benchmark result: {'; '.join(problems[:5])}{hint}")
    return data


def write_result(data: dict[str, Any], path: Path) -> Path:
    """Validate ``data`` and write it as indented JSON to ``path``; return ``path``."""
    problems = validate_result(data)
    if problems:
        raise ResultFileError(f"refusing to write an invalid benchmark result to {path}: {'; '.join(problems[:5])}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)
    logger.info("wrote benchmark result %s (%d rows)", path, len(data["rows"]))
    return path


def write_raw_csv(rows: list[dict[str, Any]], path: Path) -> Path:
    """Write per-image timings with the columns of RAW_CSV_COLUMNS; return ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=RAW_CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    logger.info("wrote %d per-image timings to %s", len(rows), path)
    return path
