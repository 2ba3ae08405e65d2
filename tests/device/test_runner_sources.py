"""The runner with awkward sources: one slower than the take timeout, one that crashes mid-run."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import pytest

from frugalclip_device import runner as runner_module
from frugalclip_device.capture import FrameDelivery
from frugalclip_device.runner import RunConfig, RunFailure, run_live
from frugalclip_device.sources import EndOfSource, Frame, FrameSource
from frugalclip_device.sources.base import make_frame, monotonic_ns

FRAME_GAP_S = 0.4


class SlowCamera(FrameSource):
    """Delivers ``frames`` frames, each FRAME_GAP_S after the previous one, then ends."""

    name = "camera"

    def __init__(self, frames: int) -> None:
        self.frames_left = frames

    def open(self) -> None:
        pass

    def read(self) -> Frame:
        if self.frames_left == 0:
            raise EndOfSource("slow camera done")
        started_ns = monotonic_ns()
        time.sleep(FRAME_GAP_S)
        self.frames_left -= 1
        return make_frame(np.zeros((8, 8, 3), np.uint8), started_ns, str(self.frames_left))

    def close(self) -> None:
        pass


def test_wait_ms_spans_timed_out_takes(tmp_path: Path, tiny_bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Several takes time out before each frame comes, so wait_ms must cover all of them.
    monkeypatch.setattr(runner_module, "TAKE_TIMEOUT_S", 0.02)
    monkeypatch.setattr(runner_module, "open_source", lambda *args, **kwargs: SlowCamera(frames=3))
    config = RunConfig(
        model_dir=tiny_bundle,
        source="camera-stand-in",
        log_dir=tmp_path / "runs",
        codecarbon=False,
        cpu_power_w=5.0,
        sysfs_root=tmp_path,
        vcgencmd=str(tmp_path / "no-vcgencmd"),
        delivery=FrameDelivery.EVERY_FRAME,
    )
    result = run_live(config)
    with open(result.csv_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    # The runner needs far less than FRAME_GAP_S per frame, so it waits most of the gap.
    assert min(float(row["wait_ms"]) for row in rows[1:]) > 250 * FRAME_GAP_S


class BuggyCamera(FrameSource):
    """Delivers one frame, then raises an error that is not a SourceError."""

    name = "camera"

    def __init__(self) -> None:
        self.reads = 0

    def open(self) -> None:
        pass

    def read(self) -> Frame:
        self.reads += 1
        if self.reads > 1:
            raise RuntimeError("driver bug")
        return make_frame(np.zeros((8, 8, 3), np.uint8), monotonic_ns(), "0")

    def close(self) -> None:
        pass


def test_capture_crash_fails_run(tmp_path: Path, tiny_bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "open_source", lambda *args, **kwargs: BuggyCamera())
    config = RunConfig(
        model_dir=tiny_bundle,
        source="camera-stand-in",
        log_dir=tmp_path / "runs",
        codecarbon=False,
        cpu_power_w=5.0,
        sysfs_root=tmp_path,
        vcgencmd=str(tmp_path / "no-vcgencmd"),
        delivery=FrameDelivery.EVERY_FRAME,
    )
    result = run_live(config)
    assert result.failure is RunFailure.SOURCE
