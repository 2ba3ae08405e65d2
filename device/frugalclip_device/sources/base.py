"""The frame source interface: each source yields RGB uint8 frames with a capture timestamp."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CorruptFrameError",
    "EndOfSource",
    "Frame",
    "FrameSource",
    "SourceConfigError",
    "SourceError",
    "monotonic_ns",
]

monotonic_ns = time.perf_counter_ns


class SourceError(Exception):
    """A source that failed or disappeared; the capture thread reopens it with backoff."""


class SourceConfigError(Exception):
    """A source that cannot work as configured (missing package, bad path): reopening will not help."""


class CorruptFrameError(Exception):
    """One frame that cannot be decoded; the capture thread skips and counts it."""


class EndOfSource(Exception):
    """A finite source (an image folder without looping) has no more frames."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured frame.

    ``image`` is RGB uint8 [H, W, 3], C-contiguous. ``captured_ns`` is on the
    ``time.perf_counter_ns`` clock, the same clock as the runner's timings; ``captured_utc_s``
    is the wall-clock time of the capture. ``capture_ms`` is how long the source took to
    deliver the frame (read, decode, channel conversion). ``origin`` names the frame within
    its source: a file path for image folders, a frame number for cameras and videos.
    """

    image: np.ndarray
    captured_ns: int
    captured_utc_s: float
    capture_ms: float
    origin: str


class FrameSource(ABC):
    """A camera, a video or an image folder that delivers frames one at a time.

    The capture thread calls ``open``, then ``read`` until it raises, and ``close``.
    ``read`` raises CorruptFrameError for one bad frame, SourceError when the source failed
    (the capture thread closes and reopens it) and EndOfSource when a finite source is done.
    """

    #: Short description written in every CSV row, e.g. ``picamera2`` or ``folder``.
    name: str = "source"

    @abstractmethod
    def open(self) -> None:
        """Open the device or file; raise SourceConfigError or SourceError on failure."""

    @abstractmethod
    def read(self) -> Frame:
        """Block until the next frame and return it."""

    @abstractmethod
    def close(self) -> None:
        """Release the device or file; safe to call twice or after a failed open."""

    def describe(self) -> str:
        """Return a one-line description for logs and the run summary."""
        return self.name

    def no_frame_hint(self) -> str:
        """Return the sentence telling a person what to check when this source delivers no frame at all."""
        return "Check that the source exists and can be read"


def make_frame(image: np.ndarray, started_ns: int, origin: str) -> Frame:
    """Wrap an RGB array read since ``started_ns`` into a Frame stamped now."""
    now_ns = monotonic_ns()
    return Frame(
        image=image,
        captured_ns=now_ns,
        captured_utc_s=time.time(),
        capture_ms=(now_ns - started_ns) / 1e6,
        origin=origin,
    )
