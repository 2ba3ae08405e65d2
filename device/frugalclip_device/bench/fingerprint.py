"""Machine fingerprint of a benchmark run: CPU, cores, governor, RAM, OS, library versions.

Every file is read under ``root`` so that tests can point it at a fake tree.
"""

from __future__ import annotations

import logging
import os
import platform
import re
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import __version__ as pillow_version

__all__ = ["machine_fingerprint", "machine_slug"]

logger = logging.getLogger(__name__)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _cpu_model(root: Path) -> str:
    """Return the CPU model from /proc/cpuinfo: ``model name`` on x86, ``Model`` or ``Hardware`` on ARM."""
    text = _read_text(root / "proc/cpuinfo") or ""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip().lower(), value.strip())
    for key in ("model name", "model", "hardware", "cpu model", "processor"):
        if fields.get(key):
            return fields[key]
    return platform.processor() or platform.machine() or "unknown"


def _core_counts(root: Path) -> tuple[int, int]:
    """Return (logical CPUs, physical cores) from the sysfs topology under ``root``."""
    topologies = sorted((root / "sys/devices/system/cpu").glob("cpu[0-9]*/topology"))
    physical = set()
    for topology in topologies:
        package = _read_text(topology / "physical_package_id")
        core = _read_text(topology / "core_id")
        if package is not None and core is not None:
            physical.add((package.strip(), core.strip()))
    logical = len(topologies) or os.cpu_count() or 1
    return logical, len(physical) or logical


def _governor(root: Path) -> str | None:
    text = _read_text(root / "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    return text.strip() if text else None


def _max_frequency_mhz(root: Path) -> float | None:
    text = _read_text(root / "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    return int(text.strip()) / 1000.0 if text and text.strip().isdigit() else None


def _memory_total_bytes(root: Path) -> int | None:
    text = _read_text(root / "proc/meminfo") or ""
    match = re.search(r"^MemTotal:\s+(\d+)\s+kB", text, flags=re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def _os_name(root: Path) -> str:
    text = _read_text(root / "etc/os-release") or ""
    match = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', text, flags=re.MULTILINE)
    name = match.group(1) if match else platform.system()
    return f"{name} (kernel {platform.release()})"


def _pi_model(root: Path) -> str | None:
    """Return the board model from the device tree (``Raspberry Pi 5 Model B Rev 1.0``), if any."""
    text = _read_text(root / "proc/device-tree/model")
    return text.strip("\x00\n ") if text else None


def machine_fingerprint(root: Path = Path("/")) -> dict[str, Any]:
    """Describe the machine a benchmark runs on; missing sysfs or procfs entries become None."""
    root = Path(root)
    logical, physical = _core_counts(root)
    fingerprint: dict[str, Any] = {
        "cpu_model": _cpu_model(root),
        "architecture": platform.machine(),
        "logical_cpus": logical,
        "physical_cores": physical,
        "frequency_governor": _governor(root),
        "max_frequency_mhz": _max_frequency_mhz(root),
        "memory_total_bytes": _memory_total_bytes(root),
        "os": _os_name(root),
        "python": platform.python_version(),
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
        "pillow": pillow_version,
        "pi_model": _pi_model(root),
        "hostname": platform.node(),
    }
    fingerprint["name"] = machine_slug(fingerprint)
    logger.debug("machine fingerprint: %s", fingerprint)
    return fingerprint


def machine_slug(fingerprint: dict[str, Any]) -> str:
    """Name a machine for the results folder: the Pi model, or architecture, CPU model and core count."""
    if fingerprint.get("pi_model"):
        text = str(fingerprint["pi_model"])
    else:
        text = f"{fingerprint.get('architecture', '')} {fingerprint.get('cpu_model', '')} {fingerprint.get('logical_cpus', '')}cpu"
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:60].rstrip("-") or "unknown-machine"

