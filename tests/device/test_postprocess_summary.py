"""Top-k, the uncertain label, smoothing, and the summary's percentiles."""

from __future__ import annotations

from array import array

import numpy as np
import pytest

from frugalclip_device.postprocess import UNCERTAIN_LABEL, Postprocessor
from frugalclip_device.summary import FrameStats, latency_percentiles_ms

LABELS = ["cat", "dog", "bird"]


def test_top_k_order() -> None:
    prediction = Postprocessor(LABELS, top_k=2)(np.array([[0.2, 0.7, 0.1]], np.float32))
    assert [label for label, _ in prediction.top_k] == ["dog", "cat"]


def test_top_k_text() -> None:
    prediction = Postprocessor(LABELS, top_k=2)(np.array([0.2, 0.7, 0.1], np.float32))
    assert prediction.top_k_text() == "dog:0.7000|cat:0.2000"


def test_uncertain_below_threshold() -> None:
    prediction = Postprocessor(LABELS, min_confidence=0.5)(np.array([0.4, 0.35, 0.25], np.float32))
    assert prediction.label == UNCERTAIN_LABEL


def test_uncertain_keeps_confidence() -> None:
    prediction = Postprocessor(LABELS, min_confidence=0.5)(np.array([0.4, 0.35, 0.25], np.float32))
    assert prediction.confidence == pytest.approx(0.4)


def test_smoothing_averages_window() -> None:
    post = Postprocessor(LABELS, smooth_frames=2)
    post(np.array([1.0, 0.0, 0.0], np.float32))
    post(np.array([0.0, 1.0, 0.0], np.float32))
    prediction = post(np.array([0.0, 0.4, 0.6], np.float32))
    assert prediction.label == "dog"
    assert prediction.confidence == pytest.approx(0.7)


def test_wrong_class_count() -> None:
    with pytest.raises(ValueError, match="expected 3 probabilities"):
        Postprocessor(LABELS)(np.array([0.5, 0.5], np.float32))


def test_percentiles_known_values() -> None:
    values = array("d", range(1, 101))
    assert latency_percentiles_ms(values) == {"p50": 50.5, "p90": 90.1, "p99": 99.01}


def test_percentiles_empty() -> None:
    assert latency_percentiles_ms(array("d")) == {"p50": None, "p90": None, "p99": None}


def test_overhead_fraction() -> None:
    stats = FrameStats()
    stats.add(total_ms=10.0, inference_ms=9.0, preprocess_ms=0.5, label="cat", energy_j=0.1)
    stats.log_ms_sum = 0.0
    assert stats.overhead_fraction() == pytest.approx(0.1)
