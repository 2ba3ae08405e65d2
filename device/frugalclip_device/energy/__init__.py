"""Energy per frame: Pi 5 PMIC, x86 RAPL, or an estimate; plus codecarbon around the run."""

from __future__ import annotations

import enum
import logging
from pathlib import Path

from ..vcgencmd import Vcgencmd
from .base import EnergyMeter, EnergySourceKind, FrameEnergy
from .estimate import CpuPowerConstant, EstimateMeter, find_cpu_power_constant
from .pmic import DEFAULT_PERIOD_S as PMIC_DEFAULT_PERIOD_S
from .pmic import PmicMeter
from .rapl import RaplMeter, find_rapl_domains

__all__ = [
    "EnergyChoice",
    "EnergyMeter",
    "EnergySourceError",
    "EnergySourceKind",
    "FrameEnergy",
    "PMIC_DEFAULT_PERIOD_S",
    "probe_energy_sources",
    "select_energy_meter",
]

logger = logging.getLogger(__name__)


class EnergyChoice(enum.Enum):
    """Value of ``--energy``: ``auto`` picks the best source the machine has."""

    AUTO = "auto"
    PMIC = "pmic"
    RAPL = "rapl"
    ESTIMATE = "estimate"


class EnergySourceError(Exception):
    """A requested energy source that this machine does not have."""


def probe_energy_sources(sysfs_root: Path, vcgencmd: Vcgencmd) -> dict[str, str | None]:
    """Return, per source, what was found (a description) or None with the reason in ``<source>_missing``."""
    found: dict[str, str | None] = {}
    pmic = vcgencmd.pmic_read_adc()
    found["pmic"] = f"{len(pmic.rail_power_w)} rails, {pmic.total_power_w:.2f} W now" if pmic else None
    if pmic is None:
        found["pmic_missing"] = (
            f"{vcgencmd.executable} not found" if not vcgencmd.available else "vcgencmd pmic_read_adc gave no rails (not a Pi 5)"
        )
    domains, reason = find_rapl_domains(sysfs_root)
    found["rapl"] = ", ".join(f"{domain.name} ({domain.path})" for domain in domains) or None
    if not domains:
        found["rapl_missing"] = reason
    return found


def select_energy_meter(
    choice: EnergyChoice,
    *,
    sysfs_root: Path = Path("/"),
    vcgencmd: Vcgencmd | None = None,
    pmic_period_s: float = PMIC_DEFAULT_PERIOD_S,
    cpu_power_w: float | None = None,
) -> EnergyMeter:
    """Return the meter for ``choice``; ``auto`` tries PMIC, then RAPL, then the estimate."""
    vcgencmd = vcgencmd or Vcgencmd()

    if choice in (EnergyChoice.AUTO, EnergyChoice.PMIC):
        if vcgencmd.pmic_read_adc() is not None:
            return PmicMeter(vcgencmd, pmic_period_s)
        if choice is EnergyChoice.PMIC:
            raise EnergySourceError(
                f"--energy pmic: `{vcgencmd.executable} pmic_read_adc` returned no rails; "
                "it works on a Raspberry Pi 5 only: use --energy auto"
            )

    if choice in (EnergyChoice.AUTO, EnergyChoice.RAPL):
        domains, reason = find_rapl_domains(sysfs_root)
        if domains:
            return RaplMeter(domains)
        if choice is EnergyChoice.RAPL:
            raise EnergySourceError(f"--energy rapl: {reason}; use --energy auto")

    return EstimateMeter(find_cpu_power_constant(cpu_power_w))
