"""Energy of a measured block of inferences, from the device runtime's energy meters.

The runtime picks the best source the machine has: the Raspberry Pi 5 PMIC, x86 RAPL
counters, or an estimate from CPU time (labelled ``estimate``). The benchmark reads one
span per variant: the meter's energy between ``start()`` and ``stop()``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from ..energy import EnergyChoice, EnergyMeter, select_energy_meter
from ..vcgencmd import Vcgencmd

__all__ = ["BenchEnergyMeter", "EnergySpan", "open_energy_meter"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EnergySpan:
    """Energy of one measured interval, with its source (``pmic``, ``rapl`` or ``estimate``)."""

    energy_j: float
    duration_s: float
    source: str


class BenchEnergyMeter:
    """Measures energy between ``start()`` and ``stop()``, any number of times, on one runtime meter."""

    def __init__(self, meter: EnergyMeter) -> None:
        self._meter = meter
        self.source = meter.kind.value
        self.description = meter.describe()
        self._started_ns: int | None = None
        self._meter_running = False

    def start(self) -> None:
        now_ns = time.perf_counter_ns()
        if not self._meter_running:
            self._meter.start(now_ns)
            self._meter_running = True
        else:
            self._meter.frame(now_ns)  # closes the interval since the last span; discarded
        self._started_ns = now_ns

    def stop(self) -> EnergySpan:
        if self._started_ns is None:
            raise RuntimeError("BenchEnergyMeter.stop() called before start()")
        now_ns = time.perf_counter_ns()
        reading = self._meter.frame(now_ns)
        span = EnergySpan(reading.energy_j, (now_ns - self._started_ns) / 1e9, self.source)
        self._started_ns = None
        return span

    def close(self) -> None:
        """Stop the meter's background sampling, if it has any."""
        if self._meter_running:
            self._meter.stop()
            self._meter_running = False


def open_energy_meter(sysfs_root: Path = Path("/"), vcgencmd: Vcgencmd | None = None) -> BenchEnergyMeter:
    """Return a meter on the best energy source of this machine (PMIC, RAPL, else an estimate)."""
    meter = BenchEnergyMeter(select_energy_meter(EnergyChoice.AUTO, sysfs_root=Path(sysfs_root), vcgencmd=vcgencmd))
    logger.info("benchmark energy source: %s", meter.description)
    return meter
