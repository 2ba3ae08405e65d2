"""codecarbon's offline tracker around a whole run: energy and CO2 estimates, never measurements.

codecarbon does not know the Raspberry Pi's CPU and falls back to constants there, so its
figures are labelled as estimates wherever they are shown. It is optional: without it the
run has no CO2 figure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["RunEmissions", "RunEmissionsTracker", "codecarbon_version"]

logger = logging.getLogger(__name__)

DEFAULT_COUNTRY = "FRA"


def codecarbon_version() -> str | None:
    """Return the installed codecarbon version, or None; does not import codecarbon itself."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("codecarbon")
    except PackageNotFoundError:
        return None


@dataclass(frozen=True)
class RunEmissions:
    energy_kwh: float
    co2_kg: float
    output_file: Path
    country: str


class RunEmissionsTracker:
    """Wrapper around codecarbon's OfflineEmissionsTracker for one run.

    ``start`` and ``stop`` log codecarbon's import and tracker errors instead of raising them.
    """

    def __init__(self, output_file: Path, *, country: str = DEFAULT_COUNTRY, project: str = "frugalclip-device") -> None:
        self.output_file = Path(output_file)
        self.country = country
        self.project = project
        self._tracker: Any = None

    def start(self) -> bool:
        """Start tracking; return False if codecarbon is missing or fails to start."""
        try:
            from codecarbon import OfflineEmissionsTracker
        except ImportError:
            logger.info("codecarbon is not installed: no whole-run CO2 estimate")
            return False
        # codecarbon logs through its own handler, not through ours, and its constructor logs
        # ("offline tracker init", "Multiple instances ... allowed") before it applies
        # log_level: set its logger's level first. Our logger at INFO (`-v`) lets them through.
        log_level = "info" if logger.isEnabledFor(logging.INFO) else "error"
        logging.getLogger("codecarbon").setLevel(log_level.upper())
        try:
            self._tracker = OfflineEmissionsTracker(
                country_iso_code=self.country,
                output_dir=str(self.output_file.parent),
                output_file=self.output_file.name,
                project_name=self.project,
                log_level=log_level,
                allow_multiple_runs=True,
            )
            self._tracker.start()
        except Exception as error:  # codecarbon raises many types (ValueError on a bad country, lock errors)
            logger.warning("codecarbon tracker did not start: %s", error)
            self._tracker = None
            return False
        logger.info("codecarbon offline tracker started (country %s), output %s", self.country, self.output_file)
        return True

    def stop(self) -> RunEmissions | None:
        tracker, self._tracker = self._tracker, None
        if tracker is None:
            return None
        try:
            co2_kg = tracker.stop()
            data = tracker.final_emissions_data
            energy_kwh = float(data.energy_consumed) if data is not None else float("nan")
        except Exception as error:  # see start()
            logger.warning("codecarbon tracker did not stop cleanly: %s", error)
            return None
        return RunEmissions(energy_kwh, float(co2_kg or 0.0), self.output_file, self.country)
