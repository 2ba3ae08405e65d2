"""Classification metrics in NumPy: confusion matrix, accuracy, per-class recall, macro-F1, agreement.

Conventions follow scikit-learn's: rows of the confusion matrix are true classes, columns are
predicted classes, and a class with no true and no predicted samples gets recall and F1 of 0.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

__all__ = ["ClassificationMetrics", "agreement", "classification_metrics", "confusion_matrix"]

logger = logging.getLogger(__name__)


def confusion_matrix(true_indices: np.ndarray, predicted_indices: np.ndarray, num_classes: int) -> np.ndarray:
    """Count samples per (true class, predicted class) in an int64 [num_classes, num_classes] matrix."""
    true_indices = np.asarray(true_indices, dtype=np.int64)
    predicted_indices = np.asarray(predicted_indices, dtype=np.int64)
    if true_indices.shape != predicted_indices.shape or true_indices.ndim != 1:
        raise ValueError(
            f"expected two 1-D arrays of equal length, got shapes {true_indices.shape} and {predicted_indices.shape}"
        )
    for name, indices in (("true", true_indices), ("predicted", predicted_indices)):
        if indices.size and (indices.min() < 0 or indices.max() >= num_classes):
            raise ValueError(
                f"{name} class indices must lie in 0..{num_classes - 1}, got {indices.min()}..{indices.max()}"
            )

    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (true_indices, predicted_indices), 1)
    return matrix


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Divide element-wise, with 0 where the denominator is 0."""
    numerator = numerator.astype(np.float64)
    denominator = denominator.astype(np.float64)
    result = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=result, where=denominator > 0)
    return result


@dataclass(frozen=True)
class ClassificationMetrics:
    """Metrics of one set of predictions; fractions in 0..1."""

    accuracy: float
    macro_f1: float
    per_class_recall: list[float]
    per_class_precision: list[float]
    confusion_matrix: list[list[int]]


def classification_metrics(
    true_indices: np.ndarray, predicted_indices: np.ndarray, num_classes: int
) -> ClassificationMetrics:
    """Compute accuracy, macro-F1 and per-class recall and precision of predicted class indices."""
    matrix = confusion_matrix(true_indices, predicted_indices, num_classes)
    total = int(matrix.sum())
    if total == 0:
        raise ValueError("cannot compute metrics of zero samples: the test split is empty")

    true_positives = np.diag(matrix)
    recall = _safe_divide(true_positives, matrix.sum(axis=1))
    precision = _safe_divide(true_positives, matrix.sum(axis=0))
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    return ClassificationMetrics(
        accuracy=float(true_positives.sum() / total),
        macro_f1=float(f1.mean()),
        per_class_recall=[float(value) for value in recall],
        per_class_precision=[float(value) for value in precision],
        confusion_matrix=matrix.tolist(),
    )


def agreement(predicted_a: np.ndarray, predicted_b: np.ndarray) -> float:
    """Return the fraction of samples where two models predict the same top-1 class."""
    predicted_a = np.asarray(predicted_a)
    predicted_b = np.asarray(predicted_b)
    if predicted_a.shape != predicted_b.shape or predicted_a.size == 0:
        raise ValueError(
            f"expected two non-empty prediction arrays of equal shape, got {predicted_a.shape} and {predicted_b.shape}"
        )
    return float(np.mean(predicted_a == predicted_b))
