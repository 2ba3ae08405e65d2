"""Energy and CO2 of a training run, as estimated by codecarbon's OfflineEmissionsTracker."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

__all__ = ["EMISSIONS_FILE", "EnergyMeter", "EnergyReading"]

logger = logging.getLogger(__name__)

EMISSIONS_FILE = "emissions.csv"


@dataclass(frozen=True)
class EnergyReading:
    energy_kwh: float | None
    co2_kg: float | None
    note: str


class EnergyMeter:
    """Start and stop a codecarbon tracker; a disabled or failing tracker yields a reading of None values.

    codecarbon estimates power from RAPL counters where readable, else from the CPU's TDP and
    load, and CO2 from the grid intensity of ``country_iso_code``: the figures are estimates.
    """

    def __init__(self, out_dir: Path, country_iso_code: str, *, enabled: bool = True) -> None:
        self.out_dir = Path(out_dir)
        self.country_iso_code = country_iso_code
        self.enabled = enabled
        self._tracker = None

    def start(self) -> None:
        if not self.enabled:
            return
        try:
            from codecarbon import OfflineEmissionsTracker

            # codecarbon logs its set-up at INFO and WARNING before applying log_level.
            logging.getLogger("codecarbon").setLevel(logging.ERROR)
            self._tracker = OfflineEmissionsTracker(
                project_name="frugalclip-train",
                country_iso_code=self.country_iso_code,
                output_dir=str(self.out_dir),
                output_file=EMISSIONS_FILE,
                log_level="error",
                allow_multiple_runs=True,
            )
            self._tracker.start()
        except Exception as error:  # codecarbon raises many types; energy figures are optional
            logger.warning("codecarbon could not start (%s); training continues without energy figures", error)
            self._tracker = None

    def stop(self) -> EnergyReading:
        if self._tracker is None:
            reason = "disabled" if not self.enabled else "codecarbon did not start"
            return EnergyReading(None, None, f"not measured ({reason})")
        try:
            co2_kg = self._tracker.stop()
            energy_kwh = self._tracker.final_emissions_data.energy_consumed
        except Exception as error:  # see start()
            logger.warning("codecarbon could not stop cleanly (%s); no energy figures", error)
            return EnergyReading(None, None, "not measured (codecarbon failed)")
        finally:
            self._tracker = None
        note = (
            f"codecarbon {_codecarbon_version()} OfflineEmissionsTracker estimate, "
            f"country {self.country_iso_code}, this machine, whole training run"
        )
        return EnergyReading(float(energy_kwh), float(co2_kg), note)


def _codecarbon_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("codecarbon")
    except PackageNotFoundError:
        return "unknown"
