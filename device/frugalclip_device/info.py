"""Report for ``frugalclip-device info``: bundle, checksums, variants, system and energy sensors."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import PIL

from . import __version__
from .bundle import BundleError, load_bundle
from .bundle_format import MANIFEST_FILE, sha256_file
from .energy import probe_energy_sources
from .energy.estimate import find_cpu_power_constant
from .energy.run_tracker import codecarbon_version
from .session import physical_core_count
from .system_readings import SystemSensors, read_rss_mb
from .vcgencmd import Vcgencmd, decode_throttled

__all__ = ["bundle_info", "energy_info", "system_info"]


def _checksums(root: Path) -> dict[str, str]:
    """Return ``ok``, ``mismatch`` or ``missing`` for every file the manifest lists."""
    try:
        manifest = json.loads((root / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    status = {}
    for name, expected in sorted((manifest.get("files") or {}).items()):
        path = root / name
        if not path.is_file():
            status[name] = "missing"
        else:
            status[name] = "ok" if sha256_file(path) == expected else "mismatch"
    return status


def bundle_info(model_dir: Path) -> dict[str, Any]:
    """Describe a bundle.

    When the bundle does not load, ``error`` contains the load error and its fix.
    """
    info: dict[str, Any] = {"path": str(model_dir), "checksums": _checksums(Path(model_dir))}
    try:
        bundle = load_bundle(model_dir)
    except BundleError as error:
        info["error"] = str(error)
        return info
    manifest = bundle.manifest
    info.update(
        {
            "name": manifest.get("name"),
            "format_version": manifest.get("format_version"),
            "created_utc": manifest.get("created_utc"),
            "weights": bundle.weights,
            "labels": bundle.labels,
            "image_size_px": bundle.contract.image_size,
            "default_variant": bundle.default_variant,
            "variants": {
                name: {
                    "file": variant.path.name,
                    "precision": variant.precision,
                    "size_mb": round(variant.size_bytes / 1e6, 3),
                    "metrics": variant.metrics,
                }
                for name, variant in bundle.variants.items()
            },
        }
    )
    if bundle.weights != "pretrained":
        info["note"] = f"{bundle.weights} weights: metrics and predictions of this bundle are not meaningful"
    return info


def system_info(sysfs_root: Path, vcgencmd: Vcgencmd) -> dict[str, Any]:
    sensors = SystemSensors(sysfs_root, vcgencmd)
    readings = sensors.read()
    rss_mb = read_rss_mb()
    model_path = Path(sysfs_root) / "proc/device-tree/model"
    board = model_path.read_text(errors="replace").strip("\x00\n ") if model_path.is_file() else None
    return {
        "frugalclip_device": __version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "board": board,
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "physical_cores": physical_core_count(),
        "logical_cpus": os.cpu_count(),
        "cpu_temp_c": readings.cpu_temp_c,
        "cpu_freq_mhz": readings.cpu_freq_mhz,
        "throttled": None
        if readings.throttled_flags is None
        else {"flags": hex(readings.throttled_flags), "conditions": decode_throttled(readings.throttled_flags)},
        "rss_mb": None if rss_mb is None else round(rss_mb, 1),
        "sensors": sensors.describe(),
        "picamera2": importlib.util.find_spec("picamera2") is not None,
        "opencv": importlib.util.find_spec("cv2") is not None,
    }


def energy_info(sysfs_root: Path, vcgencmd: Vcgencmd, cpu_power_w: float | None = None) -> dict[str, Any]:
    found = probe_energy_sources(sysfs_root, vcgencmd)
    constant = find_cpu_power_constant(cpu_power_w)
    if found.get("pmic"):
        best = "pmic"
    elif found.get("rapl"):
        best = "rapl"
    else:
        best = "estimate"
    return {
        **found,
        "estimate": f"{constant.power_w:g} W CPU power constant ({constant.origin}), not a measurement",
        "selected_by_auto": best,
        "codecarbon": codecarbon_version(),
    }
