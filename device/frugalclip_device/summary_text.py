"""The end-of-run summary as lines for people; the summary JSON keeps the machine values."""

from __future__ import annotations

from typing import Any

__all__ = ["format_count", "format_number", "summary_lines"]

MISSING = "n/a"


def format_number(value: float | int | None, unit: str = "", digits: int = 3) -> str:
    """Round to ``digits`` significant digits (whole numbers stay whole) and add the unit; ``n/a`` for None."""
    if value is None:
        return MISSING
    if isinstance(value, int) or abs(value) >= 10 ** (digits - 1):
        text = f"{value:.0f}"
    else:
        text = f"{value:.{digits}g}"
    return f"{text} {unit}" if unit else text


def format_count(count: int, noun: str) -> str:
    """``1 frame``, ``3 frames``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _latency_text(latency: dict[str, float | None]) -> str:
    if all(value is None for value in latency.values()):
        return MISSING
    return ", ".join(f"{name} {format_number(value, 'ms')}" for name, value in latency.items())


def _overhead_text(fraction: float | None) -> str:
    return MISSING if fraction is None else f"{fraction * 100:.1f} %"


def _throttling_text(throttling: dict[str, Any]) -> str:
    if not throttling.get("available"):
        return "unknown (no vcgencmd get_throttled on this machine)"
    if not throttling.get("conditions"):
        return "none"
    return f"{', '.join(throttling['conditions'])} (flags {throttling['flags_seen']})"


def _labels_text(labels: dict[str, int], frames: int) -> str:
    if not labels:
        return "none"
    return ", ".join(f"{label} {count} ({count / frames * 100:.0f} %)" for label, count in labels.items())


def _energy_text(energy: dict[str, Any]) -> str:
    per_frame = format_number(energy["per_frame_j"] * 1000 if energy["per_frame_j"] is not None else None, "mJ")
    return f"{per_frame} per frame, {format_number(energy['total_j'], 'J')} in total, from {energy['description']}"


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """Return the run summary as short labelled lines, units included and no Python literals."""
    frames = summary["frames"]
    lines = [
        f"frames: {frames} in {format_number(summary['duration_s'], 's')} "
        f"({format_number(summary['fps'], 'frames/s')}), stopped by {summary['stop_reason']}",
        f"latency per frame: {_latency_text(summary['latency_ms'])}",
        f"runtime overhead outside session.run: {_overhead_text(summary['runtime_overhead_fraction'])}",
        f"energy: {_energy_text(summary['energy'])}",
        f"dropped frames: {summary['dropped_frames']} ({summary['frame_delivery']}), "
        f"corrupt frames: {summary['corrupt_frames']}, source failures: {summary['source_failures']}",
        f"throttling seen: {_throttling_text(summary['throttling'])}",
        f"labels: {_labels_text(summary['labels'], frames)}",
    ]
    carbon = summary.get("codecarbon_estimate")
    if carbon:
        lines.append(
            f"codecarbon estimate (not a measurement): {format_number(carbon['energy_kwh'] * 1000, 'Wh')}, "
            f"{format_number(carbon['co2_kg'] * 1000, 'g')} CO2 in {carbon['country']}"
        )
    if summary["bundle"].get("note"):
        lines.append(f"note: {summary['bundle']['note']}")
    return lines
