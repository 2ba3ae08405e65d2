"""The capture thread and the one-slot buffer between it and inference.

The slot works in one of two deliveries. ``newest-only`` (cameras): a new frame replaces one
that inference has not taken yet, so inference never works on a stale frame, and every
replaced frame counts as dropped. ``every-frame`` (image folders, video files): the capture
thread waits until inference took the previous frame, so every frame is classified, in
order, and none is dropped.
"""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass

from .sources import SourceKind
from .sources.base import CorruptFrameError, EndOfSource, Frame, FrameSource, SourceConfigError, SourceError

__all__ = ["DEFAULT_OPEN_TIMEOUT_S", "CaptureStats", "CaptureThread", "FrameDelivery", "FrameSlot", "default_delivery"]

logger = logging.getLogger(__name__)

# Reopen delays after a source failure: doubled after each failed attempt, up to the maximum.
BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 10.0
# How long a run waits for the first frame before it stops with an error. A source that
# delivered frames and then fails is reopened with backoff for as long as the run lasts.
DEFAULT_OPEN_TIMEOUT_S = 30.0
# Log at most this many corrupt-frame warnings in full; later ones are only counted.
CORRUPT_FRAME_LOG_LIMIT = 10


class FrameDelivery(enum.Enum):
    """The hand-over policy between the capture thread and an inference slower than the source."""

    EVERY_FRAME = "every-frame"  # capture waits for inference: nothing dropped
    NEWEST_ONLY = "newest-only"  # a new frame replaces an untaken one, which counts as dropped


def default_delivery(kind: SourceKind) -> FrameDelivery:
    """Return newest-only for cameras, whose frames go stale while they wait, else every-frame."""
    return FrameDelivery.NEWEST_ONLY if kind.live else FrameDelivery.EVERY_FRAME


class FrameSlot:
    """A thread-safe slot holding at most one frame not yet taken; see FrameDelivery."""

    def __init__(self, delivery: FrameDelivery = FrameDelivery.NEWEST_ONLY) -> None:
        self.delivery = delivery
        self._condition = threading.Condition()
        self._frame: Frame | None = None
        self._closed = False
        self.put_count = 0
        self.taken_count = 0
        self.dropped_count = 0

    def put(self, frame: Frame) -> bool:
        """Store ``frame``; return False if the slot is closed and the frame was discarded.

        Newest-only replaces (and counts as dropped) a frame that inference did not take. Every-frame blocks
        until the previous frame is taken or ``close`` is called.
        """
        with self._condition:
            if self.delivery is FrameDelivery.EVERY_FRAME:
                while self._frame is not None and not self._closed:
                    self._condition.wait()
            if self._closed:
                return False
            if self._frame is not None:
                self.dropped_count += 1
            self._frame = frame
            self.put_count += 1
            self._condition.notify_all()
            return True

    def take(self, timeout_s: float | None = None) -> Frame | None:
        """Return the frame not yet taken, waiting up to ``timeout_s``.

        Returns None on timeout, or once the slot is closed and empty. A frame stored before
        ``close`` can still be taken.
        """
        with self._condition:
            if self._frame is None and not self._closed:
                self._condition.wait(timeout_s)
            frame, self._frame = self._frame, None
            if frame is not None:
                self.taken_count += 1
                self._condition.notify_all()  # wakes an every-frame put waiting for the slot
            return frame

    def close(self) -> None:
        """Wake every waiting ``take`` and ``put`` because no more frames will come. Later puts discard their frame."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pending(self) -> bool:
        """True while a frame waits to be taken."""
        return self._frame is not None


@dataclass
class CaptureStats:
    """Counters of the capture thread; read by the runner, written by the thread alone."""

    captured_frames: int = 0
    corrupt_frames: int = 0
    source_failures: int = 0
    reopens: int = 0
    ended: bool = False
    fatal_error: str | None = None
    last_failure: str | None = None  # message of the latest failed open or read


class CaptureThread(threading.Thread):
    """Thread that reads a source into a FrameSlot and reopens a failed source with backoff.

    The first failure of a streak is logged as a warning and its repeats at INFO, so a camera
    that stays unplugged does not flood the console. Every failure is counted.

    A SourceConfigError (at open) stops the thread and sets ``stats.fatal_error``. An
    EndOfSource stops it and sets ``stats.ended``. Both close the slot.
    """

    def __init__(self, source: FrameSource, buffer: FrameSlot, *, opened: bool = False) -> None:
        super().__init__(name="frugalclip-capture", daemon=True)
        self.source = source
        self.buffer = buffer
        self.stats = CaptureStats()
        self._stop_event = threading.Event()
        self._opened = opened

    def stop(self) -> None:
        """Ask the thread to end; closing the slot also wakes a put that waits for inference."""
        self._stop_event.set()
        self.buffer.close()

    def _record_failure(self, action: str, error: Exception, *, first_in_streak: bool, next_try_s: float) -> None:
        """Count a failed open or read; log the first of a streak as a warning and its repeats at INFO."""
        self.stats.source_failures += 1
        self.stats.last_failure = str(error)
        level = logging.WARNING if first_in_streak else logging.INFO
        logger.log(
            level,
            "%s %s failed (failure %d): %s; next try in %.1f s",
            action,
            self.source.describe(),
            self.stats.source_failures,
            error,
            next_try_s,
        )

    def _reopen_with_backoff(self) -> bool:
        """Close and reopen the source until it opens or the thread is stopped; return True if open."""
        delay_s = BACKOFF_INITIAL_S
        while not self._stop_event.is_set():
            self.source.close()
            if self._stop_event.wait(delay_s):
                return False
            try:
                self.source.open()
            except SourceConfigError:
                raise
            except (SourceError, OSError) as error:
                delay_s = min(delay_s * 2, BACKOFF_MAX_S)
                self._record_failure("reopening", error, first_in_streak=False, next_try_s=delay_s)
                continue
            self.stats.reopens += 1
            logger.info("reopened %s (reopen %d)", self.source.describe(), self.stats.reopens)
            return True
        return False

    def _read_loop(self) -> None:
        while not self._stop_event.is_set():
            try:
                frame = self.source.read()
            except CorruptFrameError as error:
                self.stats.corrupt_frames += 1
                if self.stats.corrupt_frames <= CORRUPT_FRAME_LOG_LIMIT:
                    logger.warning("skipped corrupt frame %d: %s", self.stats.corrupt_frames, error)
                continue
            except EndOfSource as error:
                logger.info("%s", error)
                self.stats.ended = True
                return
            except (SourceError, OSError) as error:
                self._record_failure("reading", error, first_in_streak=True, next_try_s=BACKOFF_INITIAL_S)
                if not self._reopen_with_backoff():
                    return
                continue
            self.stats.captured_frames += 1
            if not self.buffer.put(frame):
                return

    def run(self) -> None:
        try:
            if not self._opened:
                try:
                    self.source.open()
                except (SourceError, OSError) as error:
                    self._record_failure("opening", error, first_in_streak=True, next_try_s=BACKOFF_INITIAL_S)
                    if not self._reopen_with_backoff():
                        return
            self._read_loop()
        except SourceConfigError as error:
            self.stats.fatal_error = str(error)
            logger.error("%s", error)
        except Exception as error:  # an unexpected error must fail the run, not end it like EndOfSource
            self.stats.fatal_error = f"{self.source.describe()} failed: {error!r}"
            logger.exception("capture thread stopped")
        finally:
            self.source.close()
            self.buffer.close()
