"""The per-epoch checkpoint that `frugalclip train --resume` continues from."""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .options import EpochRecord

__all__ = ["CHECKPOINT_FILE", "TrainingState", "load_checkpoint", "save_checkpoint"]

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoints/last.pt"
CHECKPOINT_FORMAT_VERSION = 1


@dataclass
class TrainingState:
    """Progress of the epoch loop; the model and optimizer states travel next to it."""

    epoch: int = 0  # last completed epoch, 1-based; 0 before training
    best_epoch: int = 0
    best_val_accuracy: float = -1.0
    best_val_loss: float = float("inf")
    bad_epochs: int = 0  # epochs since the best one
    stopped_early: bool = False
    duration_s: float = 0.0  # training time of the epochs done so far
    history: list[EpochRecord] = field(default_factory=list)

    def improved_by(self, record: EpochRecord) -> bool:
        """Return True when ``record`` beats the best epoch: higher accuracy, or equal accuracy and lower loss."""
        if record.val_accuracy > self.best_val_accuracy:
            return True
        return record.val_accuracy == self.best_val_accuracy and record.val_loss < self.best_val_loss


def save_checkpoint(
    path: Path,
    *,
    method: str,
    labels: list[str],
    state: TrainingState,
    module_state: dict,
    best_module_state: dict,
    optimizer_state: dict,
) -> None:
    """Write the checkpoint atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format_version": CHECKPOINT_FORMAT_VERSION,
        "method": method,
        "labels": labels,
        "state": asdict(state),
        "module_state": module_state,
        "best_module_state": best_module_state,
        "optimizer_state": optimizer_state,
    }
    temporary = path.with_suffix(".tmp")
    torch.save(payload, temporary)
    os.replace(temporary, path)
    logger.debug("saved checkpoint of epoch %d to %s", state.epoch, path)


def load_checkpoint(path: Path, *, method: str, labels: list[str]) -> dict:
    """Read a checkpoint; raise ValueError when it belongs to another method or class list."""
    path = Path(path)
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format_version") != CHECKPOINT_FORMAT_VERSION:
        raise ValueError(f"{path}: checkpoint format {payload.get('format_version')!r} is not supported; train without --resume")
    if payload["method"] != method:
        raise ValueError(
            f"{path} was written by method {payload['method']!r}, not {method!r}; "
            "resume with the same --method or use another --out folder"
        )
    if payload["labels"] != labels:
        raise ValueError(
            f"{path} was trained on classes {payload['labels']}, the prepared folder has {labels}; "
            "use another --out folder"
        )
    raw_state = dict(payload["state"])
    raw_state["history"] = [EpochRecord(**record) for record in raw_state["history"]]
    payload["state"] = TrainingState(**raw_state)
    return payload
