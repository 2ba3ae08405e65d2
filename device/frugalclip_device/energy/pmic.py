"""Raspberry Pi 5 PMIC power, sampled in the background and integrated over each frame."""

from __future__ import annotations

import bisect
import logging
import threading

from ..sources.base import monotonic_ns
from ..vcgencmd import Vcgencmd
from .base import EnergyMeter, EnergySourceKind, FrameEnergy

__all__ = ["PmicMeter", "PowerTimeline"]

logger = logging.getLogger(__name__)

DEFAULT_PERIOD_S = 0.25


class PowerTimeline:
    """Power samples (time, W) with the integral between two times.

    Power is linear between samples and held constant before the first and after the last,
    so a frame that ends before the next sample arrives uses the latest power.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times_ns: list[int] = []
        self._watts: list[float] = []

    def add(self, time_ns: int, watts: float) -> None:
        with self._lock:
            self._times_ns.append(time_ns)
            self._watts.append(watts)

    def __len__(self) -> int:
        return len(self._times_ns)

    def _power_at(self, times: list[int], watts: list[float], t_ns: int) -> float:
        index = bisect.bisect_right(times, t_ns)
        if index == 0:
            return watts[0]
        if index == len(times):
            return watts[-1]
        t0, t1 = times[index - 1], times[index]
        w0, w1 = watts[index - 1], watts[index]
        return w0 + (w1 - w0) * (t_ns - t0) / (t1 - t0)

    def integrate_j(self, start_ns: int, end_ns: int) -> float | None:
        """Return the energy in joules between two times, or None before the first sample.

        Samples older than ``start_ns`` are dropped except the last one before it, since
        callers integrate consecutive intervals.
        """
        with self._lock:
            if not self._times_ns:
                return None
            first = bisect.bisect_right(self._times_ns, start_ns) - 1
            if first > 0:
                del self._times_ns[:first]
                del self._watts[:first]
            times, watts = list(self._times_ns), list(self._watts)

        knots = [start_ns] + [t for t in times if start_ns < t < end_ns] + [end_ns]
        energy_j = 0.0
        previous_t, previous_w = knots[0], self._power_at(times, watts, knots[0])
        for t in knots[1:]:
            w = self._power_at(times, watts, t)
            energy_j += (previous_w + w) / 2 * (t - previous_t) / 1e9
            previous_t, previous_w = t, w
        return energy_j


class PmicMeter(EnergyMeter):
    """Sums the PMIC rails (volts × amps) every ``period_s`` in a background thread."""

    kind = EnergySourceKind.PMIC

    def __init__(self, vcgencmd: Vcgencmd, period_s: float = DEFAULT_PERIOD_S) -> None:
        self.vcgencmd = vcgencmd
        self.period_s = period_s
        self.timeline = PowerTimeline()
        self.failed_samples = 0
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_ns = 0

    def sample(self) -> None:
        """Take one reading now; the reading is stamped at the middle of the vcgencmd call."""
        before_ns = monotonic_ns()
        reading = self.vcgencmd.pmic_read_adc()
        after_ns = monotonic_ns()
        if reading is None:
            self.failed_samples += 1
            if self.failed_samples in (1, 10, 100) or self.failed_samples % 1000 == 0:
                logger.warning("vcgencmd pmic_read_adc failed (%d failures so far)", self.failed_samples)
            return
        self.timeline.add((before_ns + after_ns) // 2, reading.total_power_w)

    def _run(self) -> None:
        while not self._stop_event.wait(self.period_s):
            self.sample()

    def start(self, start_ns: int) -> None:
        self.sample()
        self._last_ns = start_ns
        self._thread = threading.Thread(target=self._run, name="frugalclip-pmic-sampler", daemon=True)
        self._thread.start()

    def frame(self, end_ns: int) -> FrameEnergy:
        energy_j = self.timeline.integrate_j(self._last_ns, end_ns)
        interval_s = max(end_ns - self._last_ns, 1) / 1e9
        self._last_ns = end_ns
        if energy_j is None:
            return FrameEnergy(power_w=float("nan"), energy_j=float("nan"))
        return FrameEnergy(power_w=energy_j / interval_s, energy_j=energy_j)

    def stop(self) -> None:
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=self.period_s + self.vcgencmd.timeout_s + 1)

    def describe(self) -> str:
        return f"Raspberry Pi 5 PMIC rails via `vcgencmd pmic_read_adc` every {self.period_s * 1000:g} ms, measured"
