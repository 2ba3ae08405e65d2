"""PNG plots of the comparison report: latency distribution, accuracy against latency, energy per inference."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plot_accuracy_vs_latency", "plot_energy", "plot_latency_distribution"]

logger = logging.getLogger(__name__)

_DPI = 110


def _save(figure: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=_DPI)
    plt.close(figure)
    logger.info("wrote plot %s", path)
    return path


def plot_latency_distribution(series: list[tuple[str, list[float]]], path: Path) -> Path:
    """Box plot of per-image latency (preprocessing included), one box per (machine, variant) label."""
    figure, axes = plt.subplots(figsize=(max(6.0, 0.9 * len(series) + 2), 5.5))
    if series:
        axes.boxplot([values for _, values in series], showfliers=True)
        axes.set_xticks(range(1, len(series) + 1), [label for label, _ in series], rotation=35, ha="right", fontsize=8)
        axes.set_yscale("log")
    else:
        axes.text(0.5, 0.5, "no valid rows", ha="center", va="center", transform=axes.transAxes)
    axes.set_ylabel("ms per image, log scale")
    axes.set_title("Latency per image with preprocessing, per variant and machine")
    axes.grid(axis="y", alpha=0.3)
    return _save(figure, path)


def plot_accuracy_vs_latency(points: list[tuple[str, float, float]], path: Path, note: str = "") -> Path:
    """Scatter of accuracy against median latency, one point per row with an accuracy, named in the legend."""
    figure, axes = plt.subplots(figsize=(10.0, 5.0))
    markers = "osD^v<>pPX*h"
    for index, (label, latency_ms, accuracy_value) in enumerate(points):
        axes.scatter(latency_ms, accuracy_value, marker=markers[index % len(markers)], label=label)
    if points:
        axes.set_xscale("log")
        axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    else:
        axes.text(0.5, 0.5, "no row reports an accuracy\n(random weights report none)", ha="center", va="center",
                  transform=axes.transAxes)
    axes.set_xlabel("p50 ms per image with preprocessing, log scale")
    axes.set_ylabel("top-1 accuracy")
    axes.set_title("Accuracy against latency" + (f"\n{note}" if note else ""), fontsize=10)
    axes.grid(alpha=0.3)
    return _save(figure, path)


def plot_energy(bars: list[tuple[str, float, str]], path: Path) -> Path:
    """Bar chart of energy per inference in joules; each bar's label names its energy source."""
    figure, axes = plt.subplots(figsize=(max(6.0, 0.9 * len(bars) + 2), 5.5))
    if bars:
        labels = [f"{label}\n({source})" for label, _, source in bars]
        axes.bar(range(len(bars)), [value for _, value, _ in bars])
        axes.set_xticks(range(len(bars)), labels, rotation=35, ha="right", fontsize=8)
    else:
        axes.text(0.5, 0.5, "no energy figures", ha="center", va="center", transform=axes.transAxes)
    axes.set_ylabel("energy per inference (J)")
    axes.set_title("Energy per inference (estimate unless the source says rapl or pmic)", fontsize=10)
    axes.grid(axis="y", alpha=0.3)
    return _save(figure, path)


def row_label(result: dict[str, Any], row: dict[str, Any]) -> str:
    """Short label of a result row for plots: machine, bundle, variant, thread count and data."""
    data = result["data"].get("split") or Path(result["data"]["path"]).name
    return f"{result['machine']['name'][:18]} {result['bundle']['name']} {row['variant']} t{row['threads']} ({data})"
