"""Training of the CLIP classifier: zero-shot head, linear probe or fine-tuning."""

from .options import TRAIN_RESULT_FILE, EpochRecord, TrainMethod, TrainOptions, TrainResult
from .trainer import CLASSIFIER_DIR, train_classifier

__all__ = [
    "CLASSIFIER_DIR",
    "TRAIN_RESULT_FILE",
    "EpochRecord",
    "TrainMethod",
    "TrainOptions",
    "TrainResult",
    "train_classifier",
]
