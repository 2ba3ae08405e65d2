"""Kind of weights in a CLIP directory or a trained classifier, and the marker file that records it.

Every tool that prints metrics labels them by this kind, because only metrics of
``pretrained`` weights are evidence about CLIP itself.
"""

from __future__ import annotations

import json
import logging
from enum import Enum
from pathlib import Path

__all__ = ["WEIGHTS_MARKER_FILE", "WeightsKind", "read_weights_kind", "write_weights_marker"]

logger = logging.getLogger(__name__)

# Written by frugalclip into CLIP directories it builds itself; absent from real checkpoints.
WEIGHTS_MARKER_FILE = "frugalclip_weights.json"


class WeightsKind(str, Enum):
    """Origin of a model's weights, as written in bundles and results (models/FORMAT.md)."""

    PRETRAINED = "pretrained"  # a real CLIP checkpoint
    TINY_RANDOM_INIT = "tiny-random-init"  # the embedded tiny CLIP, random initialisation
    RANDOM = "random"  # full-size architecture with untrained weights, benchmarks only


def write_weights_marker(directory: Path, kind: WeightsKind, **details: object) -> Path:
    """Write the marker file into ``directory`` and return its path."""
    path = Path(directory) / WEIGHTS_MARKER_FILE
    payload = {"weights": kind.value, **details}
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path


def read_weights_kind(directory: Path) -> WeightsKind:
    """Return the kind recorded in ``directory``, or ``PRETRAINED`` when it has no marker file."""
    path = Path(directory) / WEIGHTS_MARKER_FILE
    if not path.is_file():
        return WeightsKind.PRETRAINED
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return WeightsKind(raw["weights"])
    except (OSError, json.JSONDecodeError, KeyError, ValueError) as error:
        raise ValueError(
            f"invalid weights marker {path}: {error}; expected {{\"weights\": one of "
            f"{[kind.value for kind in WeightsKind]}}}. Rebuild the directory or delete the file."
        ) from error
