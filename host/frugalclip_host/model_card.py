"""Render a bundle's MODEL_CARD.md from its manifest: source, weights, data, metrics, energy, limits."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from .weights_kind import WeightsKind

__all__ = ["metrics_caveat", "render_model_card"]

logger = logging.getLogger(__name__)

_CAVEATS = {
    WeightsKind.TINY_RANDOM_INIT.value: "(tiny random-init model: not a measure of CLIP accuracy)",
    WeightsKind.RANDOM.value: "(random-weight model: not a measure of CLIP accuracy)",
}


def metrics_caveat(weights: str) -> str | None:
    """Return the label printed next to every metric of a non-pretrained model, or None when pretrained."""
    if weights == WeightsKind.PRETRAINED.value:
        return None
    return _CAVEATS.get(weights, f"(weights {weights!r}: not a measure of CLIP accuracy)")


def _percent(value: Any) -> str:
    return f"{100 * value:.1f}" if isinstance(value, (int, float)) else "n/a"


def _metrics_table(manifest: Mapping[str, Any]) -> list[str]:
    default = manifest.get("default_variant")
    lines = [
        "| variant | precision | size MB | accuracy % | macro-F1 % | agreement with fp32 % |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in manifest["variants"].items():
        metrics = entry.get("metrics") or {}
        marker = " (default)" if name == default else ""
        lines.append(
            f"| {name}{marker} | {entry.get('precision', '?')} | {entry.get('size_bytes', 0) / 1e6:.2f} | "
            f"{_percent(metrics.get('accuracy'))} | {_percent(metrics.get('macro_f1'))} | "
            f"{_percent(metrics.get('agreement_with_fp32'))} |"
        )
    return lines


def _data_lines(manifest: Mapping[str, Any]) -> list[str]:
    data = manifest.get("data") or {}
    labels = manifest.get("labels", [])
    lines = [f"- Classes ({len(labels)}): {', '.join(labels)}"]
    if data.get("source"):
        lines.append(f"- Source: `{data['source']}`")
    split_sizes = data.get("split_sizes") or {}
    if split_sizes:
        sizes = ", ".join(f"{split} {count}" for split, count in split_sizes.items())
        lines.append(f"- Images per split after cleaning: {sizes}")
    lines.append("- Cleaning, duplicates and every dropped file: `data_report.json`")
    return lines


def _training_lines(training: Mapping[str, Any]) -> list[str]:
    lines = [f"- Method: {training.get('method', 'unknown')}, epochs run: {training.get('epochs', 'n/a')}"]
    energy_kwh = training.get("energy_kwh")
    co2_kg = training.get("co2_kg")
    if energy_kwh is not None:
        co2 = f", {co2_kg:.3g} kg CO2eq" if co2_kg is not None else ""
        lines.append(f"- Training energy: {energy_kwh:.3g} kWh{co2} (codecarbon estimate, not a measurement)")
    else:
        lines.append("- Training energy: not measured")
    return lines


def render_model_card(manifest: Mapping[str, Any], *, default_reason: str | None = None) -> str:
    """Render MODEL_CARD.md text from a bundle manifest (the ``files`` entry is not needed)."""
    source = manifest.get("source_model") or {}
    weights = str(source.get("weights", "unknown"))
    caveat = metrics_caveat(weights)

    lines = [f"# Model card: {manifest['name']}", ""]
    if weights == WeightsKind.TINY_RANDOM_INIT.value:
        lines += [
            "> **WARNING: the metrics of a tiny random-init model say nothing about CLIP.** This bundle",
            "> was trained from random weights, without a pretrained checkpoint; use it to test the pipeline.",
            "",
        ]
    elif caveat:
        lines += [f"> **WARNING: weights are {weights!r}; these metrics say nothing about CLIP.**", ""]

    lines += [
        "## Source model",
        "",
        f"- Model: `{source.get('id', 'unknown')}` (revision `{source.get('revision') or 'unknown'}`)",
        f"- Weights: {weights}",
        "",
        "## Data",
        "",
        *_data_lines(manifest),
        "",
        "## Training",
        "",
        *_training_lines(manifest.get("training") or {}),
        "",
        "## Metrics on the held-out test split" + (f" {caveat}" if caveat else ""),
        "",
        "Measured with the device runtime's ONNX Runtime session on this bundle's files.",
        "",
        *_metrics_table(manifest),
        "",
        f"Default variant: `{manifest.get('default_variant')}`" + (f": {default_reason}." if default_reason else "."),
        "",
        "## Limits",
        "",
        "- Classifies into the classes above only: any other object gets one of these labels.",
        "- The test split comes from the same source as the training data. Expect lower accuracy on",
        "  other cameras, lighting and backgrounds, and re-verify on images from the deployment site.",
        "- Latency depends on the device; measure it on the target with `frugalclip-device bench`.",
    ]
    return "\n".join(lines) + "\n"
