"""From probabilities to a prediction: optional smoothing over recent frames, top-k, ``uncertain``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["UNCERTAIN_LABEL", "Postprocessor", "Prediction"]

UNCERTAIN_LABEL = "uncertain"


@dataclass(frozen=True, slots=True)
class Prediction:
    """``label`` is the top class, or ``uncertain`` when its probability is below the threshold."""

    label: str
    confidence: float
    top_k: tuple[tuple[str, float], ...]

    def top_k_text(self) -> str:
        """Return the top-k as ``label:0.8123|label:0.1000``, best first."""
        return "|".join(f"{label}:{probability:.4f}" for label, probability in self.top_k)


class Postprocessor:
    """Keeps the last ``smooth_frames`` probability vectors and predicts from their mean.

    ``smooth_frames=1`` means no smoothing. The ring buffer is allocated once.
    """

    def __init__(self, labels: Sequence[str], *, top_k: int = 3, min_confidence: float = 0.0, smooth_frames: int = 1) -> None:
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        if smooth_frames < 1:
            raise ValueError(f"smooth_frames must be at least 1, got {smooth_frames}")
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be within 0..1, got {min_confidence}")
        self.labels = list(labels)
        self.top_k = min(top_k, len(self.labels))
        self.min_confidence = min_confidence
        self.smooth_frames = smooth_frames
        self._ring = np.zeros((smooth_frames, len(self.labels)), dtype=np.float32)
        self._mean = np.zeros(len(self.labels), dtype=np.float32)
        self._count = 0

    def __call__(self, probabilities: np.ndarray) -> Prediction:
        """Predict from one frame's probabilities, shape [classes] or [1, classes]."""
        row = probabilities.reshape(-1)
        if row.shape[0] != len(self.labels):
            raise ValueError(f"expected {len(self.labels)} probabilities, got {row.shape[0]}")

        if self.smooth_frames > 1:
            self._ring[self._count % self.smooth_frames] = row
            self._count += 1
            filled = min(self._count, self.smooth_frames)
            np.sum(self._ring[:filled], axis=0, out=self._mean)
            self._mean /= filled
            row = self._mean

        order = np.argsort(row)[::-1][: self.top_k]
        top = tuple((self.labels[index], float(row[index])) for index in order)
        best_label, confidence = top[0]
        label = best_label if confidence >= self.min_confidence else UNCERTAIN_LABEL
        return Prediction(label, confidence, top)
