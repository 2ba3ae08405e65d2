"""``frugalclip-device info`` for people: rich tables with units; ``--json`` keeps the raw report."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from .summary_text import format_number

__all__ = ["render_info"]

UNKNOWN = "unknown"
# Scalar metrics of a variant shown in the table, with their column titles.
VARIANT_METRICS = {
    "accuracy": "accuracy",
    "macro_f1": "macro F1",
    "agreement_with_fp32": "vs fp32",
    "host_latency_ms_per_image": "ms/image",
}


def _key_value_table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table


def _text(value: Any, missing: str = UNKNOWN) -> str:
    return missing if value is None else str(value)


def _reading(value: float | None, unit: str) -> str:
    return UNKNOWN if value is None else format_number(value, unit)


def _bundle_rows(bundle: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [("path", bundle["path"])]
    if "error" in bundle:
        rows.append(("error", bundle["error"]))
        return rows
    labels = bundle["labels"]
    rows += [
        ("name", _text(bundle["name"])),
        ("format version", _text(bundle["format_version"])),
        ("created", _text(bundle["created_utc"])),
        ("weights", _text(bundle["weights"])),
        ("labels", f"{len(labels)}: {', '.join(labels)}"),
        ("input size", f"{bundle['image_size_px']} px"),
        ("default variant", _text(bundle["default_variant"])),
    ]
    if bundle.get("note"):
        rows.append(("note", bundle["note"]))
    return rows


def _checksum_table(checksums: dict[str, str]) -> Table:
    table = Table(title="checksums", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("file", overflow="fold")
    table.add_column("SHA-256 against manifest.json")
    for name, status in checksums.items():
        table.add_row(name, status if status == "ok" else f"[bold red]{status}[/]")
    return table


def _metric_text(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(float(value))
    return "-"


def _variant_table(variants: dict[str, Any], default_variant: str | None) -> Table:
    table = Table(
        title="variants (metrics measured at export, on the host)",
        title_justify="left",
        caption="* default variant" if default_variant in variants else None,
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("variant", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    for title in VARIANT_METRICS.values():
        table.add_column(title, justify="right")
    for name, variant in variants.items():
        metrics = variant.get("metrics") or {}
        table.add_row(
            f"{name} *" if name == default_variant else name,
            format_number(variant["size_mb"], "MB"),
            *(_metric_text(metrics.get(key)) for key in VARIANT_METRICS),
        )
    return table


def _throttled_text(throttled: dict[str, Any] | None) -> str:
    if throttled is None:
        return "unknown (no vcgencmd get_throttled)"
    conditions = ", ".join(throttled["conditions"]) or "none"
    return f"{conditions} (flags {throttled['flags']})"


def _system_rows(system: dict[str, Any]) -> list[tuple[str, str]]:
    sensors = system["sensors"]
    return [
        ("board", _text(system["board"], "not a Raspberry Pi (no /proc/device-tree/model)")),
        ("platform", system["platform"]),
        ("python", system["python"]),
        ("packages", f"frugalclip-device {system['frugalclip_device']}, onnxruntime {system['onnxruntime']}, "
         f"numpy {system['numpy']}, pillow {system['pillow']}"),
        ("CPUs", f"{_text(system['physical_cores'])} physical cores, {_text(system['logical_cpus'])} logical CPUs"),
        ("CPU temperature", _reading(system["cpu_temp_c"], "°C")),
        ("CPU frequency", _reading(system["cpu_freq_mhz"], "MHz")),
        ("throttling", _throttled_text(system["throttled"])),
        ("memory of this process", _reading(system["rss_mb"], "MB")),
        ("temperature sensor", _text(sensors["cpu_temperature"], "not found")),
        ("frequency sensor", _text(sensors["cpu_frequency"], "not found")),
        ("throttling sensor", _text(sensors["throttling"], "not found")),
        ("picamera2", "installed" if system["picamera2"] else "not installed"),
        ("OpenCV (webcams, videos)", "installed" if system["opencv"] else "not installed"),
    ]


def _energy_rows(energy: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for source, title in (("pmic", "Pi 5 PMIC"), ("rapl", "RAPL")):
        found = energy.get(source)
        rows.append((title, found if found else f"not found ({energy.get(f'{source}_missing') or 'no reason given'})"))
    rows += [
        ("estimate", energy["estimate"]),
        ("--energy auto uses", energy["selected_by_auto"]),
        ("codecarbon", energy["codecarbon"] or "not installed (no whole-run CO2 estimate)"),
    ]
    return rows


def render_info(report: dict[str, Any], console: Console) -> None:
    """Print the bundle, system and energy sections of an ``info`` report."""
    bundle = report.get("bundle")
    if bundle is not None:
        console.print(_key_value_table("bundle", _bundle_rows(bundle)))
        if bundle.get("checksums"):
            console.print(_checksum_table(bundle["checksums"]))
        if bundle.get("variants"):
            console.print(_variant_table(bundle["variants"], bundle.get("default_variant")))
        console.print()
    console.print(_key_value_table("system", _system_rows(report["system"])))
    console.print()
    console.print(_key_value_table("energy", _energy_rows(report["energy"])))
