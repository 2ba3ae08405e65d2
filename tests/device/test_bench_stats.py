"""Latency statistics and classification metrics of the benchmark suite on known inputs."""

from __future__ import annotations

import math

import pytest

from frugalclip_device.bench.classification import accuracy, macro_f1, top1_agreement
from frugalclip_device.bench.stats import summarize_ms


def test_summarize_percentiles_of_one_to_hundred() -> None:
    summary = summarize_ms(list(range(1, 101)))
    assert summary["p50"] == pytest.approx(50.5)
    assert summary["p90"] == pytest.approx(90.1)
    assert summary["p99"] == pytest.approx(99.01)


def test_summarize_mean_std_count() -> None:
    summary = summarize_ms([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])
    assert summary["count"] == 8
    assert summary["mean"] == pytest.approx(5.0)
    assert summary["std"] == pytest.approx(math.sqrt(32 / 7))
    assert summary["min"] == 2.0
    assert summary["max"] == 9.0


def test_summarize_single_sample() -> None:
    summary = summarize_ms([3.5])
    assert summary["std"] == 0.0
    assert summary["p99"] == 3.5


def test_summarize_unsorted_input() -> None:
    assert summarize_ms([30.0, 10.0, 20.0])["p50"] == 20.0


def test_summarize_empty_raises() -> None:
    with pytest.raises(ValueError, match="empty"):
        summarize_ms([])


def test_summarize_nan_raises() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        summarize_ms([1.0, float("nan")])


def test_accuracy_known_values() -> None:
    assert accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == pytest.approx(0.75)


def test_accuracy_length_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="entries"):
        accuracy([0, 1], [0])


def test_macro_f1_known_values() -> None:
    # class 0: P=1, R=1 -> 1; class 1: P=1/2, R=1 -> 2/3; class 2: P=1, R=1/2 -> 2/3
    assert macro_f1([0, 1, 2, 2], [0, 1, 1, 2]) == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)


def test_macro_f1_class_never_hit_counts_zero() -> None:
    assert macro_f1([0, 1], [0, 0]) == pytest.approx((2 / 3 + 0.0) / 2)


def test_top1_agreement_known_values() -> None:
    assert top1_agreement([1, 1, 0, 2], [1, 0, 0, 2]) == pytest.approx(0.75)
