"""Accuracy, macro-F1 and top-1 agreement of predicted class indices, in NumPy."""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy", "macro_f1", "top1_agreement"]


def _as_indices(values: list[int] | np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.int64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D list of class indices, got shape {array.shape}")
    return array


def accuracy(truth: list[int] | np.ndarray, predicted: list[int] | np.ndarray) -> float:
    """Return the fraction of predictions equal to the truth."""
    truth_array, predicted_array = _as_indices(truth, "truth"), _as_indices(predicted, "predicted")
    if truth_array.shape != predicted_array.shape:
        raise ValueError(f"truth has {truth_array.size} entries but predicted has {predicted_array.size}")
    return float(np.mean(truth_array == predicted_array))


def macro_f1(truth: list[int] | np.ndarray, predicted: list[int] | np.ndarray) -> float:
    """Return the unweighted mean of per-class F1 over the classes present in truth or predictions.

    A class with no true positive has F1 0, as in scikit-learn's ``f1_score(average="macro")``.
    """
    truth_array, predicted_array = _as_indices(truth, "truth"), _as_indices(predicted, "predicted")
    if truth_array.shape != predicted_array.shape:
        raise ValueError(f"truth has {truth_array.size} entries but predicted has {predicted_array.size}")
    scores = []
    for label in np.union1d(truth_array, predicted_array):
        true_positive = np.sum((predicted_array == label) & (truth_array == label))
        false_positive = np.sum((predicted_array == label) & (truth_array != label))
        false_negative = np.sum((predicted_array != label) & (truth_array == label))
        denominator = 2 * true_positive + false_positive + false_negative
        scores.append(2 * true_positive / denominator if denominator else 0.0)
    return float(np.mean(scores))


def top1_agreement(reference: list[int] | np.ndarray, predicted: list[int] | np.ndarray) -> float:
    """Return the fraction of images on which two models predict the same top-1 class."""
    return accuracy(reference, predicted)
