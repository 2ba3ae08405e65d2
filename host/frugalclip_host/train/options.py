"""Training methods, the options of a training run and its result."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path

from ..classifier import DEFAULT_PROMPT_TEMPLATES

__all__ = ["TRAIN_RESULT_FILE", "TrainMethod", "TrainOptions", "TrainResult"]

TRAIN_RESULT_FILE = "train_result.json"


class TrainMethod(str, Enum):
    """Method that turns CLIP into the classifier, listed from cheapest to most expensive."""

    ZERO_SHOT = "zero-shot"  # head from the text prompts, no training
    LINEAR_PROBE = "linear-probe"  # frozen encoder, embeddings computed once and cached, head trained
    FINE_TUNE = "fine-tune"  # last vision blocks and head trained on augmented images


# Learning rates used when TrainOptions.lr is None. The fine-tune rate suits pretrained CLIP;
# a randomly initialised model learns faster with a larger one (e.g. 1e-4).
DEFAULT_LR = {
    TrainMethod.ZERO_SHOT: 0.0,
    TrainMethod.LINEAR_PROBE: 1e-3,
    TrainMethod.FINE_TUNE: 1e-5,
}


@dataclass
class TrainOptions:
    """Settings of one training run; the CLI flags of `frugalclip train` map onto these fields."""

    method: TrainMethod = TrainMethod.LINEAR_PROBE
    epochs: int = 10
    batch_size: int = 32
    lr: float | None = None  # None: DEFAULT_LR of the method
    weight_decay: float = 1e-4
    trainable_blocks: int | None = 2  # fine-tune only: last N encoder blocks; None trains all of them
    patience: int = 3  # epochs without a better validation score before stopping
    seed: int = 0
    country_iso_code: str = "FRA"  # codecarbon's grid carbon intensity of this country
    resume: bool = False
    cache_dir: Path | None = None  # linear-probe embedding cache; None: <out_dir>/embedding-cache
    templates: tuple[str, ...] = DEFAULT_PROMPT_TEMPLATES
    measure_energy: bool = True

    def __post_init__(self) -> None:
        self.method = TrainMethod(self.method)
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.patience < 1:
            raise ValueError(f"patience must be at least 1 epoch, got {self.patience}")
        if self.lr is not None and self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not re.fullmatch(r"[A-Z]{3}", self.country_iso_code):
            raise ValueError(
                f"country_iso_code {self.country_iso_code!r} is not an ISO 3166-1 alpha-3 code such as 'FRA' or 'DEU'"
            )
        if self.trainable_blocks is not None and self.trainable_blocks < 0:
            raise ValueError(f"trainable_blocks must be 0 or more, or None for all blocks, got {self.trainable_blocks}")

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else DEFAULT_LR[self.method]

    def to_dict(self) -> dict:
        raw = asdict(self)
        raw["method"] = self.method.value
        raw["cache_dir"] = str(self.cache_dir) if self.cache_dir is not None else None
        raw["templates"] = list(self.templates)
        raw["learning_rate"] = self.learning_rate
        return raw


@dataclass
class EpochRecord:
    """Scores of one epoch; accuracies are fractions in 0..1."""

    epoch: int
    train_loss: float
    val_loss: float
    val_accuracy: float


@dataclass
class TrainResult:
    """Outcome of a training run, written to ``train_result.json``."""

    method: str
    labels: list[str]
    source_model: dict  # {"id", "revision", "weights"}, as in the bundle manifest
    weights: str  # WeightsKind value; metrics of non-"pretrained" weights say nothing about CLIP
    epochs_run: int
    best_epoch: int  # 0 for zero-shot
    stopped_early: bool
    resumed_from_epoch: int | None
    best_val_accuracy: float | None
    best_val_loss: float | None
    test_accuracy: float | None
    num_images: dict[str, int]
    duration_s: float
    energy_kwh: float | None
    co2_kg: float | None
    energy_note: str
    classifier_dir: str
    embedding_cache_hits: int = 0
    embedding_cache_misses: int = 0
    history: list[EpochRecord] = field(default_factory=list)
    options: dict = field(default_factory=dict)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "TrainResult":
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        raw["history"] = [EpochRecord(**record) for record in raw.get("history", [])]
        return cls(**raw)
