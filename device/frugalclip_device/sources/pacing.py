"""Paces a file source (image folder, video file) to a frame rate, like a camera."""

from __future__ import annotations

import time

from .base import monotonic_ns

__all__ = ["FramePacer"]


class FramePacer:
    """A schedule that delays each frame so that at most ``fps`` frames come per second (0: no pacing).

    A consumer that falls behind does not earn a burst afterwards, because the schedule
    restarts from the late frame.
    """

    def __init__(self, fps: float) -> None:
        self.period_ns = int(1e9 / fps) if fps > 0 else 0
        self._next_due_ns = 0

    def reset(self) -> None:
        """Start a new schedule: the next frame is due at once."""
        self._next_due_ns = 0

    def wait(self) -> None:
        """Sleep until the next frame is due."""
        if self.period_ns == 0:
            return
        now_ns = monotonic_ns()
        if self._next_due_ns > now_ns:
            time.sleep((self._next_due_ns - now_ns) / 1e9)
            self._next_due_ns += self.period_ns
        else:
            self._next_due_ns = now_ns + self.period_ns
