"""Top-k, the uncertain label, smoothing, the summary's percentiles and its text for people."""

from __future__ import annotations

from array import array

import numpy as np
import pytest

from frugalclip_device.postprocess import UNCERTAIN_LABEL, Postprocessor
from frugalclip_device.summary import FrameStats, latency_percentiles_ms
from frugalclip_device.summary_text import summary_lines

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


def _summary(**overrides) -> dict:
    summary = {
        "frames": 4,
        "duration_s": 2.0,
        "fps": 2.0,
        "stop_reason": "max-frames",
        "latency_ms": {"p50": 8.7452, "p90": 10.3412, "p99": 1234.5},
        "runtime_overhead_fraction": 0.064731,
        "energy": {"per_frame_j": 0.041574, "total_j": 0.166296, "description": "estimate: 8 W"},
        "dropped_frames": 0,
        "frame_delivery": "every-frame",
        "corrupt_frames": 1,
        "source_failures": 0,
        "throttling": {"available": True, "flags_seen": "0x50005", "conditions": ["under-voltage detected", "currently throttled"]},
        "labels": {"face": 3, "non-face": 1},
        "codecarbon_estimate": None,
        "bundle": {"note": None},
    }
    summary.update(overrides)
    return summary


def _line(lines: list[str], label: str) -> str:
    return next(line for line in lines if line.startswith(f"{label}:")).partition(": ")[2]


def test_summary_overhead_percent() -> None:
    assert _line(summary_lines(_summary()), "runtime overhead outside session.run") == "6.5 %"


def test_summary_latency_units() -> None:
    assert _line(summary_lines(_summary()), "latency per frame") == "p50 8.75 ms, p90 10.3 ms, p99 1234 ms"


def test_summary_labels_text() -> None:
    assert _line(summary_lines(_summary()), "labels") == "face 3 (75 %), non-face 1 (25 %)"


def test_summary_throttling_conditions() -> None:
    assert _line(summary_lines(_summary()), "throttling seen") == "under-voltage detected, currently throttled (flags 0x50005)"


def test_summary_throttling_unavailable() -> None:
    lines = summary_lines(_summary(throttling={"available": False, "flags_seen": None, "conditions": []}))
    assert _line(lines, "throttling seen").startswith("unknown")


def test_summary_no_frames_not_none() -> None:
    empty = _summary(
        frames=0,
        fps=0.0,
        latency_ms={"p50": None, "p90": None, "p99": None},
        runtime_overhead_fraction=None,
        energy={"per_frame_j": None, "total_j": 0.0, "description": "estimate"},
        labels={},
    )
    text = "\n".join(summary_lines(empty))
    assert "None" not in text
    assert "{" not in text


def test_summary_energy_millijoules() -> None:
    assert _line(summary_lines(_summary()), "energy").startswith("41.6 mJ per frame, 0.166 J in total")
