"""Helpers of the device tests: test images, a fake sysfs tree, canned vcgencmd output, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
# TrashNet photos live beside the checkout, never inside it; FRUGALCLIP_TRASHNET overrides the place.
TRASHNET = Path(os.environ.get("FRUGALCLIP_TRASHNET", REPO_ROOT.parent / "shared" / "data" / "trashnet"))
PATCH_PX = 16

# Canned `vcgencmd pmic_read_adc` output of a Raspberry Pi 5 (rails shortened to four).
PMIC_OUTPUT = """\
     3V3_SYS_A current(1)=0.10000000A
    VDD_CORE_A current(7)=2.00000000A
   DDR_VDD2_A current(4)=0.20000000A
       HDMI_A current(5)=0.00000000A
     3V3_SYS_V volt(9)=3.30000000V
    VDD_CORE_V volt(15)=0.75000000V
   DDR_VDD2_V volt(12)=1.10000000V
       HDMI_V volt(13)=5.00000000V
    EXT5V_V volt(24)=5.10000000V
"""
PMIC_TOTAL_W = 0.1 * 3.3 + 2.0 * 0.75 + 0.2 * 1.1 + 0.0 * 5.0
THROTTLED_FLAGS = 0x50005



def patch_image(width: int = 3 * PATCH_PX, height: int = PATCH_PX) -> np.ndarray:
    """RGB uint8 image: a red, a green and a blue patch side by side."""
    image = np.zeros((height, width, 3), dtype=np.uint8)
    third = width // 3
    image[:, :third, 0] = 255
    image[:, third : 2 * third, 1] = 255
    image[:, 2 * third :, 2] = 255
    return image


def assert_patches_rgb(image: np.ndarray, tolerance: int = 0) -> None:
    """Check the centre pixel of each patch: red, then green, then blue."""
    height, width, _ = image.shape
    third = width // 3
    for index, expected in enumerate(((255, 0, 0), (0, 255, 0), (0, 0, 255))):
        pixel = image[height // 2, index * third + third // 2].astype(int)
        assert np.abs(pixel - np.array(expected)).max() <= tolerance, f"patch {index}: {pixel.tolist()} != {expected}"


def write_fake_sysfs(root: Path, *, temp_milli_c: int = 61250, freq_khz: int = 2400000, rapl_uj: int | None = None) -> Path:
    """Create thermal, cpufreq and (optionally) RAPL files under ``root`` as Linux lays them out."""
    zone = root / "sys/class/thermal/thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "type").write_text("cpu-thermal\n")
    (zone / "temp").write_text(f"{temp_milli_c}\n")
    cpufreq = root / "sys/devices/system/cpu/cpu0/cpufreq"
    cpufreq.mkdir(parents=True)
    (cpufreq / "scaling_cur_freq").write_text(f"{freq_khz}\n")
    (root / "proc/device-tree").mkdir(parents=True)
    (root / "proc/device-tree/model").write_text("Raspberry Pi 5 Model B Rev 1.0\x00")
    if rapl_uj is not None:
        domain = root / "sys/class/powercap/intel-rapl:0"
        domain.mkdir(parents=True)
        (domain / "name").write_text("package-0\n")
        (domain / "energy_uj").write_text(f"{rapl_uj}\n")
        (domain / "max_energy_range_uj").write_text("262143328850\n")
        sub = root / "sys/class/powercap/intel-rapl:0:0"
        sub.mkdir(parents=True)
        (sub / "name").write_text("core\n")
        (sub / "energy_uj").write_text("5\n")
        (sub / "max_energy_range_uj").write_text("262143328850\n")
    return root


def device_cli(*arguments: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m frugalclip_device`` in a subprocess, never contacting any host."""
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "frugalclip_device", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=kwargs.pop("timeout", 300),
        **kwargs,
    )
