"""A rich table of a benchmark result, printed at the end of a run."""

from __future__ import annotations

from typing import Any

from rich.table import Table

__all__ = ["render_rows"]


def _format(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


def render_rows(result: dict[str, Any]) -> Table:
    """Return one line per row: variant, threads, size, accuracy, agreement, latency, FPS, RSS, energy."""
    weights_label = result["bundle"].get("weights_label", result["bundle"].get("weights", ""))
    table = Table(title=f"{result['bundle']['name']} on {result['machine']['name']} ({weights_label})")
    for header in ("row", "threads", "size MB", "accuracy", "agree fp32", "p50 ms", "p90 ms", "model p50 ms",
                   "FPS", "RSS MB", "J/inf", "energy", "valid"):
        table.add_column(header)
    for row in result["rows"]:
        size = row.get("size_bytes")
        rss = row.get("peak_rss_bytes")
        table.add_row(
            row["variant"] if row["kind"] == "bundle-variant" else f"{row['variant']} (baseline)",
            str(row["threads"]),
            _format(size / 1e6 if size else None, "{:.1f}"),
            _format(row.get("accuracy"), "{:.3f}"),
            _format(row.get("agreement_with_fp32"), "{:.3f}"),
            _format(row["latency_total_ms"].get("p50"), "{:.1f}"),
            _format(row["latency_total_ms"].get("p90"), "{:.1f}"),
            _format(row["latency_model_ms"].get("p50"), "{:.1f}"),
            _format(row.get("fps_end_to_end"), "{:.1f}"),
            _format(rss / 1e6 if rss else None, "{:.0f}"),
            _format(row.get("energy_per_inference_j"), "{:.3f}"),
            str(row.get("energy_source") or "-"),
            "yes" if row["valid"] else "no",
        )
    return table
