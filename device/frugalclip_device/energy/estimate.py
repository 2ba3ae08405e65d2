"""An energy estimate from this process's CPU time and a CPU power constant; not a measurement.

energy_j = cpu_power_w × (process CPU seconds in the interval) / (logical CPUs). The power
constant comes from one of three places. ``--cpu-power-w`` sets it directly. Otherwise, when
codecarbon is installed, it is codecarbon's figure for this CPU model: its TDP table, or its
default of 4 W per logical CPU for models it does not know. Without codecarbon it is that
same default of 4 W per logical CPU.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

from .base import EnergyMeter, EnergySourceKind, FrameEnergy

__all__ = ["CpuPowerConstant", "EstimateMeter", "find_cpu_power_constant"]

logger = logging.getLogger(__name__)

# codecarbon 3.3.2's default for CPUs missing from its table (codecarbon/core/cpu.py).
DEFAULT_POWER_PER_CPU_W = 4.0


@dataclass(frozen=True)
class CpuPowerConstant:
    power_w: float
    origin: str  # where the figure comes from, shown in `info` and the summary


def find_cpu_power_constant(override_w: float | None = None) -> CpuPowerConstant:
    """Pick the CPU power constant: the override, codecarbon's figure, or 4 W per logical CPU."""
    cpus = os.cpu_count() or 1
    if override_w is not None:
        return CpuPowerConstant(override_w, "--cpu-power-w")
    try:
        from codecarbon.core.cpu import TDP  # slow import (pandas); only when an estimate is needed
    except ImportError:
        return CpuPowerConstant(DEFAULT_POWER_PER_CPU_W * cpus, f"{DEFAULT_POWER_PER_CPU_W:g} W × {cpus} logical CPUs")
    codecarbon_logger = logging.getLogger("codecarbon")
    previous_level = codecarbon_logger.level
    codecarbon_logger.setLevel(logging.ERROR)  # its "unknown CPU" warnings repeat what origin below records
    try:
        tdp = TDP()
    except Exception as error:  # codecarbon's CPU detection reads /proc and may fail in containers
        logger.warning("codecarbon could not detect the CPU: %s", error)
        tdp = None
    finally:
        codecarbon_logger.setLevel(previous_level)
    if tdp is not None and tdp.tdp:
        return CpuPowerConstant(float(tdp.tdp), f"codecarbon's figure for {tdp.model}")
    return CpuPowerConstant(DEFAULT_POWER_PER_CPU_W * cpus, f"{DEFAULT_POWER_PER_CPU_W:g} W × {cpus} logical CPUs")


class EstimateMeter(EnergyMeter):
    """Attributes the CPU power constant to this process in proportion to its CPU time."""

    kind = EnergySourceKind.ESTIMATE

    def __init__(self, constant: CpuPowerConstant, logical_cpus: int | None = None) -> None:
        self.constant = constant
        self.logical_cpus = logical_cpus or os.cpu_count() or 1
        self._last_cpu_s = 0.0
        self._last_ns = 0

    def start(self, start_ns: int) -> None:
        self._last_cpu_s = time.process_time()
        self._last_ns = start_ns

    def frame(self, end_ns: int) -> FrameEnergy:
        cpu_s = time.process_time()
        energy_j = self.constant.power_w * (cpu_s - self._last_cpu_s) / self.logical_cpus
        interval_s = max(end_ns - self._last_ns, 1) / 1e9
        self._last_cpu_s, self._last_ns = cpu_s, end_ns
        return FrameEnergy(power_w=energy_j / interval_s, energy_j=energy_j)

    def describe(self) -> str:
        return (
            f"estimate: process CPU time × {self.constant.power_w:g} W ({self.constant.origin}) "
            f"/ {self.logical_cpus} logical CPUs, not a measurement"
        )
