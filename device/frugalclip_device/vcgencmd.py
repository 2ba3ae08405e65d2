"""Raspberry Pi firmware readings through ``vcgencmd``: throttling flags and PMIC rails.

The executable is injectable so tests can run a fake one. Each call starts a process, so
the runtime calls it from background samplers at a fixed rate, never once per frame.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from dataclasses import dataclass

__all__ = ["PmicReading", "THROTTLE_BITS", "Vcgencmd", "decode_throttled", "parse_pmic_read_adc", "parse_throttled"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 2.0

# Bits of the `vcgencmd get_throttled` value.
THROTTLE_BITS = {
    0: "under-voltage detected",
    1: "arm frequency capped",
    2: "currently throttled",
    3: "soft temperature limit active",
    16: "under-voltage has occurred",
    17: "arm frequency capping has occurred",
    18: "throttling has occurred",
    19: "soft temperature limit has occurred",
}

_THROTTLED_RE = re.compile(r"throttled=(0x[0-9a-fA-F]+)")
# Lines such as "  VDD_CORE_A current(7)=2.33900000A" and "  VDD_CORE_V volt(15)=0.72000000V".
_PMIC_RE = re.compile(r"^\s*(\S+)_([AV])\s+(?:current|volt)\(\d+\)=([-+0-9.eE]+)[AV]\s*$")


def parse_throttled(output: str) -> int | None:
    """Return the flags of ``get_throttled`` output (``throttled=0x50005``), or None if absent."""
    match = _THROTTLED_RE.search(output)
    return int(match.group(1), 16) if match else None


def decode_throttled(flags: int) -> list[str]:
    """Return the names of the set bits of a ``get_throttled`` value."""
    return [name for bit, name in THROTTLE_BITS.items() if flags & (1 << bit)]


@dataclass(frozen=True)
class PmicReading:
    """Rails of one ``pmic_read_adc`` call: power per rail that has both a voltage and a current."""

    rail_power_w: dict[str, float]

    @property
    def total_power_w(self) -> float:
        return sum(self.rail_power_w.values())


def parse_pmic_read_adc(output: str) -> PmicReading | None:
    """Pair each rail's current (``NAME_A``) with its voltage (``NAME_V``); None if no pair is found.

    NOTE: the PMIC rails cover the SoC and board supplies behind the PMIC, not the 5 V input
    (USB, fan, HATs), so the sum is lower than what a USB power meter shows.
    """
    amps: dict[str, float] = {}
    volts: dict[str, float] = {}
    for line in output.splitlines():
        match = _PMIC_RE.match(line)
        if match is None:
            continue
        rail, unit, value = match.group(1), match.group(2), float(match.group(3))
        (amps if unit == "A" else volts)[rail] = value
    power = {rail: volts[rail] * amps[rail] for rail in sorted(amps.keys() & volts.keys())}
    return PmicReading(power) if power else None


class Vcgencmd:
    """Runs ``vcgencmd`` (or a fake one) and returns its standard output, or None on any failure."""

    def __init__(self, executable: str = "vcgencmd", *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.executable = executable
        self.timeout_s = timeout_s

    @property
    def available(self) -> bool:
        return shutil.which(self.executable) is not None

    def run(self, *arguments: str) -> str | None:
        if not self.available:
            return None
        try:
            completed = subprocess.run(
                [self.executable, *arguments], capture_output=True, text=True, timeout=self.timeout_s, check=False
            )
        except (OSError, subprocess.SubprocessError) as error:
            logger.debug("%s %s failed: %s", self.executable, " ".join(arguments), error)
            return None
        if completed.returncode != 0:
            logger.debug("%s %s exited with %d", self.executable, " ".join(arguments), completed.returncode)
            return None
        return completed.stdout

    def get_throttled(self) -> int | None:
        output = self.run("get_throttled")
        return parse_throttled(output) if output else None

    def pmic_read_adc(self) -> PmicReading | None:
        output = self.run("pmic_read_adc")
        return parse_pmic_read_adc(output) if output else None
