"""Grid carbon intensity per country, for CO2 per 1,000 inferences."""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

__all__ = ["FALLBACK_INTENSITY_G_PER_KWH", "carbon_intensity_g_per_kwh", "co2_g_per_1000"]

logger = logging.getLogger(__name__)

# Used only without codecarbon: values copied from codecarbon 3.3.2's global_energy_mix.json
# (year 2023), ISO 3166-1 alpha-3 codes.
FALLBACK_INTENSITY_G_PER_KWH = {"FRA": 56.039, "USA": 369.473, "WORLD": 475.0}


def carbon_intensity_g_per_kwh(country: str) -> tuple[float, str]:
    """Return (grams of CO2 per kWh, source) for an ISO alpha-3 country code such as ``FRA``."""
    code = country.upper()
    table = None
    # Locates codecarbon's data file without importing codecarbon, which takes seconds.
    spec = importlib.util.find_spec("codecarbon")
    if spec is not None and spec.submodule_search_locations:
        table_path = Path(spec.submodule_search_locations[0]) / "data/private_infra/global_energy_mix.json"
        try:
            table = json.loads(table_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            logger.warning("cannot read codecarbon's energy mix table %s: %s; using the built-in table", table_path, error)

    if table is not None:
        if code not in table or "carbon_intensity" not in table[code]:
            raise ValueError(f"country {country!r} is not in codecarbon's energy mix table; use an ISO alpha-3 code such as FRA or USA")
        return float(table[code]["carbon_intensity"]), "codecarbon global_energy_mix"
    if code not in FALLBACK_INTENSITY_G_PER_KWH:
        raise ValueError(
            f"country {country!r} is not in the built-in table; use an ISO alpha-3 code among "
            f"{sorted(FALLBACK_INTENSITY_G_PER_KWH)}, or install frugalclip-device[energy] for every country"
        )
    return FALLBACK_INTENSITY_G_PER_KWH[code], "built-in table (codecarbon 3.3.2, 2023)"


def co2_g_per_1000(energy_per_inference_j: float, intensity_g_per_kwh: float) -> float:
    """Return grams of CO2 for 1,000 inferences at ``energy_per_inference_j`` joules each."""
    return energy_per_inference_j * 1000 / 3.6e6 * intensity_g_per_kwh
