"""CPU temperature, CPU frequency, throttling flags and process RSS, sampled in the background.

Every path is read under ``sysfs_root`` (``/`` on a real machine) so tests can use a fake
tree. The sampler runs at a fixed period; the per-frame path only reads its last snapshot.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from .vcgencmd import Vcgencmd

__all__ = ["SystemReadings", "SystemSampler", "SystemSensors"]

logger = logging.getLogger(__name__)

# Thermal zone types that measure the CPU, best first (Raspberry Pi, Intel, AMD, generic).
CPU_ZONE_TYPES = ("cpu-thermal", "x86_pkg_temp", "k10temp", "cpu_thermal", "soc_thermal")
DEFAULT_PERIOD_S = 1.0
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True, slots=True)
class SystemReadings:
    """One snapshot; None where the machine has no such reading."""

    cpu_temp_c: float | None = None
    cpu_freq_mhz: float | None = None
    throttled_flags: int | None = None
    rss_mb: float | None = None


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def read_rss_mb() -> float | None:
    """Return this process's resident set size in MB (10^6 bytes) from /proc/self/statm."""
    text = _read_text(Path("/proc/self/statm"))
    if not text:
        return None
    return int(text.split()[1]) * _PAGE_BYTES / 1e6


class SystemSensors:
    """Finds and reads the temperature, frequency and throttling sources of this machine."""

    def __init__(self, sysfs_root: Path = Path("/"), vcgencmd: Vcgencmd | None = None) -> None:
        self.sysfs_root = Path(sysfs_root)
        self.vcgencmd = vcgencmd or Vcgencmd()
        self.temp_path = self._find_cpu_thermal_zone()
        self.freq_path = self._find_cpu_freq()
        self.has_throttled = self.vcgencmd.get_throttled() is not None

    def _find_cpu_thermal_zone(self) -> Path | None:
        zones = sorted((self.sysfs_root / "sys/class/thermal").glob("thermal_zone*"))
        by_type = {_read_text(zone / "type"): zone / "temp" for zone in zones if (zone / "temp").is_file()}
        for zone_type in CPU_ZONE_TYPES:
            if zone_type in by_type:
                return by_type[zone_type]
        return next(iter(by_type.values()), None)

    def _find_cpu_freq(self) -> Path | None:
        path = self.sysfs_root / "sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"
        return path if path.is_file() else None

    def read_cpu_temp_c(self) -> float | None:
        text = _read_text(self.temp_path) if self.temp_path else None
        return int(text) / 1000.0 if text and text.lstrip("-").isdigit() else None

    def read_cpu_freq_mhz(self) -> float | None:
        text = _read_text(self.freq_path) if self.freq_path else None
        return int(text) / 1000.0 if text and text.isdigit() else None

    def read(self) -> SystemReadings:
        return SystemReadings(
            cpu_temp_c=self.read_cpu_temp_c(),
            cpu_freq_mhz=self.read_cpu_freq_mhz(),
            throttled_flags=self.vcgencmd.get_throttled() if self.has_throttled else None,
            rss_mb=read_rss_mb(),
        )

    def describe(self) -> dict[str, str | None]:
        return {
            "cpu_temperature": str(self.temp_path) if self.temp_path else None,
            "cpu_frequency": str(self.freq_path) if self.freq_path else None,
            "throttling": f"{self.vcgencmd.executable} get_throttled" if self.has_throttled else None,
        }


class SystemSampler(threading.Thread):
    """Reads SystemSensors every ``period_s`` and keeps the latest snapshot and the worst seen."""

    def __init__(self, sensors: SystemSensors, period_s: float = DEFAULT_PERIOD_S) -> None:
        super().__init__(name="frugalclip-system-sampler", daemon=True)
        self.sensors = sensors
        self.period_s = period_s
        self.latest = sensors.read()
        self.throttled_seen = self.latest.throttled_flags or 0
        self.max_temp_c = self.latest.cpu_temp_c
        self._stop_event = threading.Event()

    def _record(self, readings: SystemReadings) -> None:
        self.latest = readings  # one reference swap: readers never see a half-written snapshot
        if readings.throttled_flags:
            self.throttled_seen |= readings.throttled_flags
        if readings.cpu_temp_c is not None and (self.max_temp_c is None or readings.cpu_temp_c > self.max_temp_c):
            self.max_temp_c = readings.cpu_temp_c

    def run(self) -> None:
        while not self._stop_event.wait(self.period_s):
            try:
                self._record(self.sensors.read())
            except Exception as error:  # a sampler must never take the run down
                logger.warning("system readings failed: %s", error)

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=self.period_s + 5)
        self._record(self.sensors.read())
