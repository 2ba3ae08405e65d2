"""load_clip: local directories, the tiny fallback and the error without it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from frugalclip_host.model_source import TINY_CLIP_SOURCE_ID, ModelSourceError, load_clip
from frugalclip_host.weights_kind import WeightsKind

MISSING_HUB_ID = "frugalclip-tests/no-such-model"


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_load_local_tiny_directory(tiny_clip_dir: Path) -> None:
    loaded = load_clip(str(tiny_clip_dir))
    assert loaded.weights is WeightsKind.TINY_RANDOM_INIT
    assert loaded.fell_back is False
    assert loaded.source_id == TINY_CLIP_SOURCE_ID


def test_fallback_labels_weights(offline, tmp_path: Path) -> None:
    loaded = load_clip(MISSING_HUB_ID, fallback_tiny_dir=tmp_path / "tiny")
    assert loaded.fell_back is True
    assert loaded.weights is WeightsKind.TINY_RANDOM_INIT
    assert loaded.revision is None


def test_fallback_logs_warning(offline, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="frugalclip_host.model_source"):
        load_clip(MISSING_HUB_ID, fallback_tiny_dir=tmp_path / "tiny")
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert MISSING_HUB_ID in warnings[0]
    assert "says nothing about CLIP" in warnings[0]


def test_fallback_reuses_built_directory(offline, tmp_path: Path) -> None:
    load_clip(MISSING_HUB_ID, fallback_tiny_dir=tmp_path / "tiny")
    weights_file = tmp_path / "tiny" / "model.safetensors"
    first_mtime = weights_file.stat().st_mtime_ns
    load_clip(MISSING_HUB_ID, fallback_tiny_dir=tmp_path / "tiny")
    assert weights_file.stat().st_mtime_ns == first_mtime


def test_no_fallback_raises_model_source_error(offline) -> None:
    with pytest.raises(ModelSourceError, match=MISSING_HUB_ID):
        load_clip(MISSING_HUB_ID)


def test_broken_local_directory_raises(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelSourceError, match=str(tmp_path)):
        load_clip(str(tmp_path), fallback_tiny_dir=tmp_path / "tiny")
