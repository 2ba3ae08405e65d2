"""A source that never delivers a frame: the open timeout, runs with no frames, and later failures that stay retried."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from frugalclip_device import capture
from frugalclip_device import runner as runner_module
from frugalclip_device.runner import RunConfig, RunFailure, StopReason, run_live
from frugalclip_device.sources import EndOfSource, Frame, FrameSource, SourceError
from frugalclip_device.sources.base import make_frame, monotonic_ns

HINT = "Check the test camera"


class UnpluggedCamera(FrameSource):
    """A camera that delivers ``frames`` frames, then fails every read and every reopen."""

    name = "camera"

    def __init__(self, frames: int = 0) -> None:
        self.frames_left = frames
        self.opens = 0

    def describe(self) -> str:
        return "test camera 7"

    def no_frame_hint(self) -> str:
        return HINT

    def open(self) -> None:
        self.opens += 1
        if self.opens > 1 or self.frames_left == 0:
            raise SourceError("device not found")

    def read(self) -> Frame:
        if self.frames_left == 0:
            raise SourceError("camera disappeared")
        self.frames_left -= 1
        return make_frame(np.zeros((8, 8, 3), np.uint8), monotonic_ns(), str(self.frames_left))

    def close(self) -> None:
        pass


class EmptyVideo(FrameSource):
    """A finite source that ends before its first frame."""

    name = "video"

    def open(self) -> None:
        pass

    def read(self) -> Frame:
        raise EndOfSource("the video has no frames")

    def close(self) -> None:
        pass


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capture, "BACKOFF_INITIAL_S", 0.01)
    monkeypatch.setattr(capture, "BACKOFF_MAX_S", 0.04)


def _config(tmp_path: Path, bundle: Path, **overrides) -> RunConfig:
    settings = dict(
        model_dir=bundle,
        source="camera-stand-in",
        log_dir=tmp_path / "runs",
        codecarbon=False,
        cpu_power_w=5.0,
        sysfs_root=tmp_path,
        vcgencmd=str(tmp_path / "no-vcgencmd"),
    )
    settings.update(overrides)
    return RunConfig(**settings)


def _use_source(monkeypatch: pytest.MonkeyPatch, source: FrameSource) -> None:
    monkeypatch.setattr(runner_module, "open_source", lambda *args, **kwargs: source)


def test_open_timeout_stops_run(tmp_path: Path, tiny_bundle: Path, monkeypatch: pytest.MonkeyPatch, fast_backoff: None) -> None:
    _use_source(monkeypatch, UnpluggedCamera())
    result = run_live(_config(tmp_path, tiny_bundle, open_timeout_s=0.3))
    assert result.failure is RunFailure.NO_FRAMES
    assert result.summary["stop_reason"] == StopReason.OPEN_TIMEOUT
    assert result.summary["frames"] == 0


def test_open_timeout_message(tmp_path: Path, tiny_bundle: Path, monkeypatch: pytest.MonkeyPatch, fast_backoff: None) -> None:
    _use_source(monkeypatch, UnpluggedCamera())
    result = run_live(_config(tmp_path, tiny_bundle, open_timeout_s=0.3))
    assert result.error.startswith("test camera 7 delivered no frame in 0.3 s")
    assert "last error: device not found" in result.error
    assert f"{HINT}, or raise --open-timeout-s." in result.error
    assert "\n" not in result.error


def test_open_timeout_writes_summary(tmp_path: Path, tiny_bundle: Path, monkeypatch: pytest.MonkeyPatch, fast_backoff: None) -> None:
    _use_source(monkeypatch, UnpluggedCamera())
    result = run_live(_config(tmp_path, tiny_bundle, open_timeout_s=0.3))
    assert result.summary_path.is_file()
    assert result.summary["source_failures"] >= 2


def test_failure_after_first_frame_retried(tmp_path: Path, tiny_bundle: Path, monkeypatch: pytest.MonkeyPatch, fast_backoff: None) -> None:
    # The camera fails for good after two frames; the run goes on past the open timeout until --duration.
    _use_source(monkeypatch, UnpluggedCamera(frames=2))
    result = run_live(_config(tmp_path, tiny_bundle, open_timeout_s=0.1, duration_s=1.0))
    assert result.failure is None
    assert result.summary["stop_reason"] == StopReason.DURATION
    assert result.summary["frames"] == 2
    assert result.summary["source_failures"] >= 2


def test_duration_without_frames_fails(tmp_path: Path, tiny_bundle: Path, monkeypatch: pytest.MonkeyPatch, fast_backoff: None) -> None:
    _use_source(monkeypatch, UnpluggedCamera())
    result = run_live(_config(tmp_path, tiny_bundle, open_timeout_s=0.0, duration_s=0.3))
    assert result.failure is RunFailure.NO_FRAMES
    assert result.summary["stop_reason"] == StopReason.DURATION
    assert "before the run stopped (stop reason: duration)" in result.error


def test_empty_source_fails(tmp_path: Path, tiny_bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _use_source(monkeypatch, EmptyVideo())
    result = run_live(_config(tmp_path, tiny_bundle))
    assert result.failure is RunFailure.NO_FRAMES
    assert result.summary["stop_reason"] == StopReason.SOURCE_ENDED
    assert "Check that the source exists and can be read." in result.error


def test_repeated_failures_log_once_as_warning(
    tmp_path: Path, tiny_bundle: Path, monkeypatch: pytest.MonkeyPatch, fast_backoff: None, caplog: pytest.LogCaptureFixture
) -> None:
    _use_source(monkeypatch, UnpluggedCamera())
    with caplog.at_level("INFO", logger="frugalclip_device.capture"):
        result = run_live(_config(tmp_path, tiny_bundle, open_timeout_s=0.3))
    failures = [record for record in caplog.records if record.name == "frugalclip_device.capture" and "failed" in record.getMessage()]
    assert result.summary["source_failures"] == len(failures)
    assert [record.levelname for record in failures].count("WARNING") == 1
