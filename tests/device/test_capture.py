"""The frame slot and the capture thread: both deliveries, drops, staleness, stop, reopen with backoff, corrupt frames."""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bundle_factory import make_bundle
from frugalclip_device import capture
from frugalclip_device.capture import CaptureThread, FrameDelivery, FrameSlot, default_delivery
from frugalclip_device import runner as runner_module
from frugalclip_device.runner import RunConfig, StopReason, run_live
from frugalclip_device.sources import CorruptFrameError, Frame, FrameSource, ImageFolderSource, SourceError, SourceKind
from frugalclip_device.sources.base import make_frame, monotonic_ns

POLL_LIMIT_S = 60.0


def _frame(number: int) -> Frame:
    return make_frame(np.zeros((4, 4, 3), np.uint8), monotonic_ns(), str(number))


def _wait_until(condition, limit_s: float = POLL_LIMIT_S) -> bool:
    """Poll ``condition`` until true; the limit only guards against a hang, it is not a timing check."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_buffer_returns_newest() -> None:
    buffer = FrameSlot()
    for number in range(5):
        buffer.put(_frame(number))
    assert buffer.take(0).origin == "4"


def test_buffer_counts_drops() -> None:
    buffer = FrameSlot()
    for number in range(5):
        buffer.put(_frame(number))
    buffer.take(0)
    assert buffer.dropped_count == 4


def test_buffer_never_returns_frame_twice() -> None:
    buffer = FrameSlot()
    buffer.put(_frame(1))
    buffer.take(0)
    assert buffer.take(0.01) is None


def test_buffer_close_wakes_take() -> None:
    buffer = FrameSlot()
    buffer.close()
    assert buffer.take(None) is None


def test_buffer_discards_put_after_close() -> None:
    buffer = FrameSlot(FrameDelivery.EVERY_FRAME)
    buffer.close()
    assert buffer.put(_frame(1)) is False
    assert buffer.take(0) is None


def test_every_frame_buffer_keeps_order() -> None:
    buffer = FrameSlot(FrameDelivery.EVERY_FRAME)
    producer = threading.Thread(target=lambda: [buffer.put(_frame(number)) for number in range(50)], daemon=True)
    producer.start()
    taken = []
    while len(taken) < 50:
        frame = buffer.take(POLL_LIMIT_S)
        assert frame is not None, f"no frame after {taken[-1:] or 'the start'}"
        taken.append(int(frame.origin))
        time.sleep(0.001)  # a consumer slower than the producer
    producer.join(POLL_LIMIT_S)
    assert taken == list(range(50))
    assert buffer.dropped_count == 0


def test_every_frame_close_wakes_put() -> None:
    buffer = FrameSlot(FrameDelivery.EVERY_FRAME)
    buffer.put(_frame(1))
    results: list[bool] = []
    producer = threading.Thread(target=lambda: results.append(buffer.put(_frame(2))), daemon=True)
    producer.start()
    buffer.close()
    producer.join(POLL_LIMIT_S)
    assert not producer.is_alive()
    assert results == [False]
    assert buffer.take(0).origin == "1"


@pytest.mark.parametrize(
    ("kind", "delivery"),
    [
        (SourceKind.PICAMERA2, FrameDelivery.NEWEST_ONLY),
        (SourceKind.WEBCAM, FrameDelivery.NEWEST_ONLY),
        (SourceKind.VIDEO, FrameDelivery.EVERY_FRAME),
        (SourceKind.FOLDER, FrameDelivery.EVERY_FRAME),
    ],
)
def test_default_delivery(kind: SourceKind, delivery: FrameDelivery) -> None:
    assert default_delivery(kind) is delivery


class ScriptedSource(FrameSource):
    """A source that follows a script: ``ok``, ``corrupt`` or ``fail`` per read, then ends."""

    name = "scripted"

    def __init__(self, script: list[str], fail_opens: int = 0) -> None:
        self.script = list(script)
        self.fail_opens = fail_opens
        self.opens = 0
        self.closes = 0

    def open(self) -> None:
        self.opens += 1
        if self.fail_opens > 0:
            self.fail_opens -= 1
            raise SourceError("camera unplugged")

    def read(self) -> Frame:
        if not self.script:
            from frugalclip_device.sources import EndOfSource

            raise EndOfSource("script done")
        step = self.script.pop(0)
        if step == "corrupt":
            raise CorruptFrameError("bad frame")
        if step == "fail":
            raise SourceError("camera disappeared")
        return _frame(len(self.script))

    def close(self) -> None:
        self.closes += 1


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capture, "BACKOFF_INITIAL_S", 0.01)
    monkeypatch.setattr(capture, "BACKOFF_MAX_S", 0.04)


def _run_capture(source: FrameSource) -> CaptureThread:
    buffer = FrameSlot()
    thread = CaptureThread(source, buffer)
    thread.start()
    thread.join(POLL_LIMIT_S)
    return thread


def test_capture_counts_corrupt_frames(fast_backoff: None) -> None:
    thread = _run_capture(ScriptedSource(["ok", "corrupt", "ok", "corrupt", "ok"]))
    assert thread.stats.corrupt_frames == 2
    assert thread.stats.captured_frames == 3


def test_capture_reopens_failed_source(fast_backoff: None) -> None:
    source = ScriptedSource(["ok", "fail", "ok"], fail_opens=0)
    thread = _run_capture(source)
    assert thread.stats.source_failures == 1
    assert thread.stats.reopens == 1
    assert thread.stats.captured_frames == 2


def test_capture_backs_off_until_open(fast_backoff: None) -> None:
    source = ScriptedSource(["ok"], fail_opens=3)
    thread = _run_capture(source)
    assert source.opens == 4
    assert thread.stats.source_failures == 3
    assert thread.stats.captured_frames == 1


def test_capture_stop_during_blocked_put(image_folder: Path) -> None:
    buffer = FrameSlot(FrameDelivery.EVERY_FRAME)
    source = ImageFolderSource(str(image_folder), loop=True)
    thread = CaptureThread(source, buffer)
    thread.start()
    try:
        # No consumer takes: the first frame fills the slot, the second put waits for it.
        assert _wait_until(lambda: thread.stats.captured_frames >= 2)
    finally:
        thread.stop()
        thread.join(POLL_LIMIT_S)
    assert not thread.is_alive()
    assert buffer.put_count == 1
    assert buffer.dropped_count == 0


def test_capture_survives_vanished_folder(image_folder: Path, fast_backoff: None) -> None:
    buffer = FrameSlot()
    source = ImageFolderSource(str(image_folder), loop=True, fps=200)
    source.open()
    thread = CaptureThread(source, buffer, opened=True)
    thread.start()
    moved = image_folder.with_name("moved-away")
    try:
        assert _wait_until(lambda: thread.stats.captured_frames >= 3)
        image_folder.rename(moved)
        assert _wait_until(lambda: thread.stats.source_failures >= 2)
        moved.rename(image_folder)
        reopened_at = thread.stats.captured_frames
        assert _wait_until(lambda: thread.stats.captured_frames >= reopened_at + 3)
    finally:
        thread.stop()
        thread.join(POLL_LIMIT_S)
    assert thread.stats.reopens >= 1


class _EndlessCamera(FrameSource):
    """A camera stand-in that never runs out: frame N is numbered N, delivered every ``period_s``."""

    name = "camera"

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self.number = 0

    def open(self) -> None:
        pass

    def read(self) -> Frame:
        started_ns = monotonic_ns()
        time.sleep(self.period_s)
        frame = make_frame(np.full((8, 8, 3), self.number % 256, np.uint8), started_ns, str(self.number))
        self.number += 1
        return frame

    def close(self) -> None:
        pass


def test_slow_model_drops_and_fresh_frames(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The camera never ends, so the run reaches max-frames however slow the model is (QEMU included).
    monkeypatch.setattr(runner_module, "open_source", lambda *args, **kwargs: _EndlessCamera(period_s=0.002))
    slow = make_bundle(tmp_path / "slow", image_size=224, conv_channels=48)  # about 350 M multiply-adds per frame
    config = RunConfig(
        model_dir=slow,
        source="camera-stand-in",
        log_dir=tmp_path / "runs",
        delivery=FrameDelivery.NEWEST_ONLY,
        max_frames=10,
        threads=1,
        codecarbon=False,
        sysfs_root=tmp_path,
        vcgencmd=str(tmp_path / "no-vcgencmd"),
    )
    result = run_live(config)
    with open(result.csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))

    positions = [int(row["source_frame"]) for row in rows]
    skipped_before = [position - index for index, position in enumerate(positions)]
    dropped = [int(row["dropped_frames"]) for row in rows]
    assert result.summary["stop_reason"] == StopReason.MAX_FRAMES
    assert len(rows) == 10
    assert dropped[-1] > 0
    assert positions == sorted(set(positions))
    # Every frame skipped before a processed frame was counted as dropped by then, and every
    # drop counted at a row lies before the next processed frame: no frame is taken stale.
    for index in range(len(rows) - 1):
        assert skipped_before[index] <= dropped[index], f"row {index}"
        assert dropped[index] <= skipped_before[index + 1], f"row {index}"


def _numbered_folder(folder: Path, count: int) -> Path:
    folder.mkdir()
    for number in range(count):
        Image.fromarray(np.full((8, 8, 3), number % 256, np.uint8)).save(folder / f"frame{number:03d}.png")
    return folder


def test_slow_model_every_frame_in_order(tmp_path: Path) -> None:
    folder = _numbered_folder(tmp_path / "frames", 30)
    slow = make_bundle(tmp_path / "slow", image_size=224, conv_channels=48)
    config = RunConfig(
        model_dir=slow,
        source=str(folder),
        log_dir=tmp_path / "runs",
        fps=500,
        threads=1,
        codecarbon=False,
        sysfs_root=tmp_path,
        vcgencmd=str(tmp_path / "no-vcgencmd"),
    )
    result = run_live(config)
    with open(result.csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))

    positions = [int(Path(row["source_frame"]).stem.removeprefix("frame")) for row in rows]
    assert result.summary["frame_delivery"] == "every-frame"
    assert result.summary["stop_reason"] == StopReason.SOURCE_ENDED
    assert positions == list(range(30))
    assert {row["dropped_frames"] for row in rows} == {"0"}
    assert result.summary["dropped_frames"] == 0


def test_max_frames_stops_blocked_capture(tmp_path: Path) -> None:
    folder = _numbered_folder(tmp_path / "frames", 10)
    slow = make_bundle(tmp_path / "slow", image_size=224, conv_channels=48)
    results = []
    config = RunConfig(
        model_dir=slow,
        source=str(folder),
        log_dir=tmp_path / "runs",
        max_frames=3,
        loop=True,
        threads=1,
        codecarbon=False,
        sysfs_root=tmp_path,
        vcgencmd=str(tmp_path / "no-vcgencmd"),
    )
    runner = threading.Thread(target=lambda: results.append(run_live(config)), daemon=True)
    runner.start()
    runner.join(POLL_LIMIT_S)
    assert len(results) == 1
    assert results[0].summary["stop_reason"] == StopReason.MAX_FRAMES
    assert not any(thread.name == "frugalclip-capture" for thread in threading.enumerate())
