"""The energy meter interface: power and energy of each frame, with the source named."""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass

__all__ = ["EnergyMeter", "EnergySourceKind", "FrameEnergy"]


class EnergySourceKind(enum.Enum):
    """Source of a frame's energy figure, written in every CSV row."""

    PMIC = "pmic"  # Raspberry Pi 5 PMIC rails, measured
    RAPL = "rapl"  # x86 RAPL package counters, measured
    ESTIMATE = "estimate"  # CPU time × a CPU power constant, not a measurement


@dataclass(frozen=True, slots=True)
class FrameEnergy:
    """Mean power over a frame's interval (W) and the energy of that interval (J)."""

    power_w: float
    energy_j: float


class EnergyMeter(ABC):
    """Measures energy between consecutive ``frame`` calls.

    Each ``frame(end_ns)`` covers the interval from the previous call (or from ``start``)
    to ``end_ns`` on the ``time.perf_counter_ns`` clock, so the frames' energies add up to
    the energy of the whole run.
    """

    kind: EnergySourceKind

    @abstractmethod
    def start(self, start_ns: int) -> None:
        """Begin measuring at ``start_ns``."""

    @abstractmethod
    def frame(self, end_ns: int) -> FrameEnergy:
        """Return the power and energy since the previous call."""

    def stop(self) -> None:
        """Stop background sampling, if any."""

    @abstractmethod
    def describe(self) -> str:
        """Return a one-line description for logs, ``info`` and the run summary."""
