"""x86 RAPL energy counters under /sys/class/powercap, read around each frame.

Only top-level package domains (``intel-rapl:N``, also used by AMD CPUs) are summed: their
sub-zones (core, uncore, dram) are parts of the package and would be counted twice. Since
Linux 5.10 the counters are readable by root only on most distributions.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .base import EnergyMeter, EnergySourceKind, FrameEnergy

__all__ = ["RaplDomain", "RaplMeter", "find_rapl_domains"]

logger = logging.getLogger(__name__)

_TOP_LEVEL_RE = re.compile(r"^intel-rapl:\d+$")


@dataclass(frozen=True)
class RaplDomain:
    path: Path
    name: str
    max_energy_range_uj: int


def find_rapl_domains(sysfs_root: Path = Path("/")) -> tuple[list[RaplDomain], str | None]:
    """Return the readable top-level domains and, if there are none, why."""
    powercap = Path(sysfs_root) / "sys/class/powercap"
    candidates = sorted(path for path in powercap.glob("intel-rapl:*") if _TOP_LEVEL_RE.match(path.name))
    if not candidates:
        return [], f"no RAPL domains under {powercap}"
    domains, problems = [], []
    for path in candidates:
        try:
            (path / "energy_uj").read_text()
            max_range = int((path / "max_energy_range_uj").read_text())
            name = (path / "name").read_text().strip() if (path / "name").is_file() else path.name
        except PermissionError:
            problems.append(f"{path / 'energy_uj'} is not readable (run as root, or grant read access)")
            continue
        except (OSError, ValueError) as error:
            problems.append(f"{path}: {error}")
            continue
        domains.append(RaplDomain(path, name, max_range))
    return domains, ("; ".join(problems) if not domains else None)


def counter_delta_uj(before_uj: int, after_uj: int, max_energy_range_uj: int) -> int:
    """Return the energy between two counter readings, allowing for one wraparound."""
    if after_uj >= before_uj:
        return after_uj - before_uj
    return after_uj + max_energy_range_uj - before_uj


class RaplMeter(EnergyMeter):
    """Sums the package counters; one ``pread`` per domain per frame, on file descriptors kept open."""

    kind = EnergySourceKind.RAPL

    def __init__(self, domains: list[RaplDomain]) -> None:
        if not domains:
            raise ValueError("RaplMeter needs at least one readable RAPL domain")
        self.domains = domains
        self._fds = [os.open(domain.path / "energy_uj", os.O_RDONLY) for domain in domains]
        self._last_uj = [0] * len(domains)
        self._last_ns = 0

    def _read_counters(self) -> list[int]:
        return [int(os.pread(fd, 32, 0)) for fd in self._fds]

    def start(self, start_ns: int) -> None:
        self._last_uj = self._read_counters()
        self._last_ns = start_ns

    def frame(self, end_ns: int) -> FrameEnergy:
        now_uj = self._read_counters()
        total_uj = 0
        for index, domain in enumerate(self.domains):
            total_uj += counter_delta_uj(self._last_uj[index], now_uj[index], domain.max_energy_range_uj)
        interval_s = max(end_ns - self._last_ns, 1) / 1e9
        self._last_uj, self._last_ns = now_uj, end_ns
        energy_j = total_uj / 1e6
        return FrameEnergy(power_w=energy_j / interval_s, energy_j=energy_j)

    def stop(self) -> None:
        fds, self._fds = self._fds, []
        for fd in fds:
            os.close(fd)

    def describe(self) -> str:
        names = ", ".join(domain.name for domain in self.domains)
        return f"RAPL counters ({names}), measured"
