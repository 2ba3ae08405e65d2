"""Thermal throttling detection around a benchmark: snapshots before and after, and their difference.

Two sources, whichever the machine has:
- Raspberry Pi: ``vcgencmd get_throttled`` bit flags (current state in bits 0-3, "has occurred
  since boot" in bits 16-19);
- Linux on x86: the per-CPU counters ``thermal_throttle/core_throttle_count`` and
  ``package_throttle_count`` in sysfs, which grow each time the CPU throttles.
The hottest thermal zone is recorded too. All paths live under ``root`` and the vcgencmd
call goes through ``run_command``, so tests use a fake tree and a fake vcgencmd.
"""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["PI_THROTTLE_FLAGS", "ThrottleSnapshot", "run_vcgencmd", "take_snapshot", "throttling_reasons"]

logger = logging.getLogger(__name__)

# Bits of `vcgencmd get_throttled`, as documented by Raspberry Pi for its firmware.
PI_THROTTLE_FLAGS = {
    0: "under-voltage now",
    1: "ARM frequency capped now",
    2: "throttled now",
    3: "soft temperature limit now",
    16: "under-voltage occurred",
    17: "ARM frequency capping occurred",
    18: "throttling occurred",
    19: "soft temperature limit occurred",
}
_PI_CURRENT_BITS = (0, 1, 2, 3)
_PI_STICKY_BITS = (16, 17, 18, 19)

CommandRunner = Callable[[list[str]], str]


def run_vcgencmd(arguments: list[str]) -> str:
    """Run ``vcgencmd`` with ``arguments`` and return its output; raise OSError when it is absent or fails."""
    try:
        completed = subprocess.run(["vcgencmd", *arguments], capture_output=True, text=True, timeout=5, check=True)
    except (FileNotFoundError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        raise OSError(f"vcgencmd {' '.join(arguments)} failed: {error}") from error
    return completed.stdout


@dataclass(frozen=True)
class ThrottleSnapshot:
    """Throttling state at one moment; None where the machine has no such sensor."""

    pi_throttled_bits: int | None = None
    throttle_counts: dict[str, int] = field(default_factory=dict)  # sysfs counter path -> count
    max_temperature_c: float | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["pi_flags"] = _decode_pi_bits(self.pi_throttled_bits) if self.pi_throttled_bits is not None else None
        data["throttle_count_total"] = sum(self.throttle_counts.values()) if self.throttle_counts else None
        del data["throttle_counts"]
        return data


def _decode_pi_bits(bits: int) -> list[str]:
    return [name for bit, name in PI_THROTTLE_FLAGS.items() if bits & (1 << bit)]


def _read_pi_bits(run_command: CommandRunner | None) -> int | None:
    if run_command is None:
        return None
    try:
        output = run_command(["get_throttled"])
    except OSError as error:
        logger.debug("no vcgencmd throttling flags: %s", error)
        return None
    match = re.search(r"throttled=(0x[0-9a-fA-F]+|\d+)", output)
    if not match:
        logger.warning("unexpected `vcgencmd get_throttled` output %r; throttling flags not recorded", output)
        return None
    return int(match.group(1), 0)


def _read_throttle_counts(root: Path) -> dict[str, int]:
    counts = {}
    for path in sorted((root / "sys/devices/system/cpu").glob("cpu[0-9]*/thermal_throttle/*_throttle_count")):
        try:
            counts[str(path.relative_to(root))] = int(path.read_text().strip())
        except (OSError, ValueError):
            continue
    return counts


def _read_max_temperature_c(root: Path) -> float | None:
    temperatures = []
    for path in (root / "sys/class/thermal").glob("thermal_zone*/temp"):
        try:
            temperatures.append(int(path.read_text().strip()) / 1000.0)  # millidegrees Celsius
        except (OSError, ValueError):
            continue
    return max(temperatures) if temperatures else None


def take_snapshot(root: Path = Path("/"), run_command: CommandRunner | None = run_vcgencmd) -> ThrottleSnapshot:
    """Read the throttling state now; pass ``run_command=None`` to skip vcgencmd."""
    root = Path(root)
    return ThrottleSnapshot(
        pi_throttled_bits=_read_pi_bits(run_command),
        throttle_counts=_read_throttle_counts(root),
        max_temperature_c=_read_max_temperature_c(root),
    )


def throttling_reasons(before: ThrottleSnapshot, after: ThrottleSnapshot) -> list[str]:
    """Return why the interval between two snapshots was throttled; an empty list means it was not.

    A Pi flag counts when it is set now (bits 0-3) or when its "occurred" bit was clear
    before and is set after, because the sticky bits stay set from boot onwards.
    """
    reasons = []
    if after.pi_throttled_bits is not None:
        bits = after.pi_throttled_bits
        previous = before.pi_throttled_bits or 0
        for bit in _PI_CURRENT_BITS:
            if bits & (1 << bit):
                reasons.append(f"vcgencmd: {PI_THROTTLE_FLAGS[bit]}")
        for bit in _PI_STICKY_BITS:
            if bits & (1 << bit) and not previous & (1 << bit):
                reasons.append(f"vcgencmd: {PI_THROTTLE_FLAGS[bit]} during the run")

    for path, count in sorted(after.throttle_counts.items()):
        grown = count - before.throttle_counts.get(path, count)
        if grown > 0:
            reasons.append(f"{path} grew by {grown} during the run")
    return reasons
