"""Merge benchmark results and live-run CSVs into a Markdown report with PNG plots."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from frugalclip_device.bench.result_schema import load_result

from .live_run import summarize_live_run
from .plots import plot_accuracy_vs_latency, plot_energy, plot_latency_distribution, row_label
from .targets import check_live_run, check_result

__all__ = ["render_report"]

logger = logging.getLogger(__name__)

PLOT_FILES = {
    "latency": "latency_distribution.png",
    "accuracy": "accuracy_vs_latency.png",
    "energy": "energy_per_inference.png",
}
_TABLE_HEADER = (
    "| machine | bundle (weights) | variant | threads | size MB | accuracy | agreement with fp32 | p50 ms | p90 ms "
    "| FPS | peak RSS MB | J per inference | CO2 g per 1,000 | speed-up vs baseline |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def _number(value: float | None, pattern: str) -> str:
    return "–" if value is None else pattern.format(value)


def _accuracy_cell(row: dict[str, Any]) -> str:
    if row.get("weights") == "random":
        return "random weights"
    if row.get("accuracy") is None:
        return "–"
    suffix = " (tiny random-init)" if row.get("weights") == "tiny-random-init" else ""
    return f"{row['accuracy']:.3f}{suffix}"


def _table_row(result: dict[str, Any], row: dict[str, Any]) -> str:
    machine = result["machine"]["name"]
    bundle = f"{result['bundle']['name']} ({row.get('weights_label', row.get('weights'))})"
    variant = row["variant"] + (" (naive baseline)" if row["kind"] == "naive-baseline" else "")
    if not row["valid"]:
        reason = "; ".join(row.get("invalid_reasons") or ["invalid"])
        return f"| {machine} | {bundle} | {variant} | {row['threads']} | invalid: {reason} |" + " |" * 9
    energy = row.get("energy_per_inference_j")
    energy_cell = f"{energy:.3f} ({row.get('energy_source')})" if energy is not None else "–"
    speedup = (row.get("vs_baseline") or {}).get("speedup_p50_total")
    if row["kind"] == "naive-baseline":
        speedup = 1.0
    cells = [
        machine, bundle, variant, str(row["threads"]),
        _number(row["size_bytes"] / 1e6 if row.get("size_bytes") else None, "{:.2f}"),
        _accuracy_cell(row),
        _number(row.get("agreement_with_fp32"), "{:.3f}"),
        _number(row["latency_total_ms"].get("p50"), "{:.1f}"),
        _number(row["latency_total_ms"].get("p90"), "{:.1f}"),
        _number(row.get("fps_end_to_end"), "{:.1f}"),
        _number(row["peak_rss_bytes"] / 1e6 if row.get("peak_rss_bytes") else None, "{:.0f}"),
        energy_cell,
        _number(row.get("co2_g_per_1000"), "{:.4f}"),
        _number(speedup, "{:.1f}x"),
    ]
    return "| " + " | ".join(cells) + " |"


def _source_lines(path: Path, result: dict[str, Any]) -> list[str]:
    machine = result["machine"]
    state = "valid" if result["valid"] else f"INVALID ({'; '.join(result['invalid_reasons'])})"
    load = result.get("load_average_before"), result.get("load_average_after")
    return [
        f"- `{path}`: {result['created_utc']}, {state}",
        f"  - machine `{machine['name']}`: {machine.get('cpu_model')}, {machine.get('logical_cpus')} CPUs, "
        f"governor {machine.get('frequency_governor')}, RAM {_number((machine.get('memory_total_bytes') or 0) / 2**30 or None, '{:.1f}')} GiB, "
        f"{machine.get('os')}, Python {machine.get('python')}, onnxruntime {machine.get('onnxruntime')}"
        + (f", {machine['pi_model']}" if machine.get("pi_model") else ""),
        f"  - data: {result['data']['images']} images from `{result['data']['path']}`; load average before/after: {load[0]} / {load[1]}",
        f"  - command: `{result['command']}`",
    ]


def _ceiling_lines(result: dict[str, Any]) -> list[str]:
    ceiling = result.get("ceiling")
    if not ceiling:
        return []
    lines = [f"- `{result['machine']['name']}`, {result['bundle']['name']}: "
             f"{_number(result['bundle'].get('macs_per_image') and result['bundle']['macs_per_image'] / 1e9, '{:.4g}')} GMAC per image (vision tower and head)"]
    for threads in sorted(ceiling["fp32_gmacs_per_s"], key=int):
        lines.append(f"  - threads={threads}: peak {ceiling['fp32_gmacs_per_s'][threads]:.1f} GMAC/s fp32, "
                     f"{ceiling['int8_gmacs_per_s'][threads]:.1f} GMAC/s int8 ({ceiling['matrix_side']}² matmul)")
    for row in result["rows"]:
        if row.get("ceiling_percent") is not None and row["valid"]:
            lines.append(f"  - {row['variant']} at threads={row['threads']}: {row['achieved_gmacs_per_s']:.3g} GMAC/s, "
                         f"{row['ceiling_percent']:.2g}% of peak")
    return lines


def _live_lines(live_runs: list[dict[str, Any]]) -> list[str]:
    if not live_runs:
        return []
    lines = ["", "## Live runs (`frugalclip-device run`)", "",
             "| CSV | frames | p50 ms | p90 ms | session p50 ms | runtime overhead | J per frame |", "|---|---|---|---|---|---|---|"]
    for run in live_runs:
        lines.append(
            f"| `{Path(run['path']).name}` | {run['frames']} | {run['latency_total_ms']['p50']:.1f} | "
            f"{run['latency_total_ms']['p90']:.1f} | {run['latency_inference_ms']['p50']:.1f} | "
            f"{100 * run['overhead_fraction']:.1f}% | {_number(run.get('energy_per_frame_j'), '{:.3f}')} |"
        )
    lines.append("")
    lines.append("Runtime overhead: the share of frame time spent outside the ONNX Runtime session call.")
    return lines


def _target_lines(results: list[tuple[Path, dict[str, Any]]], live_runs: list[dict[str, Any]]) -> list[str]:
    checks = [check for _, result in results for check in check_result(result)]
    checks += [check_live_run(run, Path(run["path"]).name) for run in live_runs]
    if not checks:
        return []
    lines = ["", "## Targets", "", "| subject | target | measured | met |", "|---|---|---|---|"]
    for check in checks:
        lines.append(f"| {check.subject} | {check.target} | {check.measured} | {'yes' if check.met else '**no**'} |")
    return lines


def render_report(
    inputs: list[Path], out_path: Path, *, title: str = "frugalclip benchmark results", notes: Path | None = None
) -> str:
    """Write ``out_path`` (Markdown) and its plots into ``<out_path's folder>/plots/``; return the Markdown.

    ``notes`` is a Markdown file copied in after the introduction, for conditions of the runs
    that the result files cannot show.
    """
    results: list[tuple[Path, dict[str, Any]]] = []
    live_runs: list[dict[str, Any]] = []
    for path in inputs:
        path = Path(path)
        if path.suffix.lower() == ".csv":
            live_runs.append(summarize_live_run(path))
        else:
            results.append((path, load_result(path)))
    if not results and not live_runs:
        raise ValueError("nothing to compare: pass result JSON files and/or live-run CSV files")

    out_path = Path(out_path)
    plots_dir = out_path.parent / "plots"
    latency_series, accuracy_points, energy_bars = [], [], []
    table = [_TABLE_HEADER]
    for _, result in results:
        for row in result["rows"]:
            table.append(_table_row(result, row))
            if not row["valid"]:
                continue
            label = row_label(result, row)
            latency_series.append((label, row.get("latency_total_ms_samples") or []))
            if row.get("accuracy") is not None:
                accuracy_points.append((label, row["latency_total_ms"]["p50"], row["accuracy"]))
            if row.get("energy_per_inference_j") is not None:
                energy_bars.append((label, row["energy_per_inference_j"], row.get("energy_source") or "?"))
    for run in live_runs:
        latency_series.append((f"live {Path(run['path']).stem[:20]}", run["latency_total_ms_samples"]))

    tiny_note = "tiny random-init models: not a measure of CLIP accuracy" if any(
        row.get("weights") == "tiny-random-init" for _, result in results for row in result["rows"]) else ""
    plot_latency_distribution([item for item in latency_series if item[1]], plots_dir / PLOT_FILES["latency"])
    plot_accuracy_vs_latency(accuracy_points, plots_dir / PLOT_FILES["accuracy"], note=tiny_note)
    plot_energy(energy_bars, plots_dir / PLOT_FILES["energy"])

    relative = os.path.relpath(plots_dir, out_path.parent)
    lines = [
        f"# {title}", "",
        f"Generated {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} by `frugalclip bench compare` from "
        f"{len(results)} result file(s) and {len(live_runs)} live-run CSV(s):", "",
        f"    frugalclip bench compare {' '.join(str(path) for path in inputs)} --out {out_path}"
        + (f" --notes {notes}" if notes is not None else ""), "",
        "Latency is per image at batch 1 with decoding and preprocessing included; p50 and p90 over every timed image. "
        "Rows with random weights report no accuracy; rows of tiny random-init models are not a measure of CLIP accuracy. "
        "Energy labelled `estimate` is computed from CPU time and an assumed power per busy core, not measured. "
        "A row whose CPU was throttled during its measurement is marked invalid and shows no figures.", "",
    ]
    if notes is not None:
        lines += [Path(notes).read_text(encoding="utf-8").strip(), ""]
    lines += [
        *table, "",
        f"![Latency distribution]({relative}/{PLOT_FILES['latency']})",
        f"![Accuracy against latency]({relative}/{PLOT_FILES['accuracy']})",
        f"![Energy per inference]({relative}/{PLOT_FILES['energy']})",
    ]
    lines += _target_lines(results, live_runs)
    ceiling_lines = [line for _, result in results for line in _ceiling_lines(result)]
    if ceiling_lines:
        lines += ["", "## Machine ceiling", "", *ceiling_lines]
    lines += _live_lines(live_runs)
    lines += ["", "## Sources", ""]
    for path, result in results:
        lines += _source_lines(path, result)
    markdown = "\n".join(lines) + "\n"

    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(markdown, encoding="utf-8")
    logger.info("wrote report %s with plots in %s", out_path, plots_dir)
    return markdown
