"""V4L2/USB webcams and video files through OpenCV, an optional extra (``pip install .[opencv]``).

OpenCV delivers B, G, R frames; they are converted to R, G, B here.
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from .base import CorruptFrameError, EndOfSource, Frame, FrameSource, SourceConfigError, SourceError, make_frame, monotonic_ns
from .pacing import FramePacer

__all__ = ["OPENCV_MISSING_MESSAGE", "OpenCVSource"]

logger = logging.getLogger(__name__)

OPENCV_MISSING_MESSAGE = (
    "OpenCV is not installed: webcams and video files need the opencv extra, "
    "`pip install 'frugalclip-device[opencv]'`"
)


def import_cv2() -> Any:
    """Import and return cv2 with its own logging silenced, or raise SourceConfigError with the install hint.

    OpenCV prints a warning on every failed open of a camera ("can't open camera by index"),
    which floods the console while the capture thread retries. The capture thread logs its
    own line instead. Setting OPENCV_LOG_LEVEL (e.g. to WARNING) brings OpenCV's messages back.
    """
    user_level = os.environ.get("OPENCV_LOG_LEVEL")
    if user_level is None:
        os.environ["OPENCV_LOG_LEVEL"] = "SILENT"  # read by OpenCV when it loads
    try:
        cv2 = importlib.import_module("cv2")
    except ImportError as error:
        raise SourceConfigError(OPENCV_MISSING_MESSAGE) from error
    if user_level is None:
        _silence_opencv_log(cv2)
    return cv2


def _silence_opencv_log(cv2: Any) -> None:
    """Set OpenCV's log level to silent, also when cv2 was imported before OPENCV_LOG_LEVEL was set."""
    cv_logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if cv_logging is not None and hasattr(cv_logging, "setLogLevel"):
        cv_logging.setLogLevel(cv_logging.LOG_LEVEL_SILENT)
    elif hasattr(cv2, "setLogLevel"):  # OpenCV 4.x builds without cv2.utils.logging
        cv2.setLogLevel(0)  # 0: LOG_LEVEL_SILENT


class OpenCVSource(FrameSource):
    """A webcam (device index or /dev/videoN path) or a video file read with cv2.VideoCapture.

    A video file ends the run when it is done unless ``loop`` is set; a webcam never ends.
    ``fps`` > 0 is requested from a webcam's driver, and paces the reading of a video file.
    """

    def __init__(
        self,
        target: int | str,
        *,
        size_px: tuple[int, int] | None = None,
        fps: float = 0.0,
        loop: bool = False,
    ) -> None:
        self.target = target
        self.size_px = size_px
        self.fps = fps
        self.loop = loop
        self.is_file = isinstance(target, str) and Path(target).is_file()
        self.name = "video" if self.is_file else "webcam"
        self._capture: Any = None
        self._cv2: Any = None
        self._frame_number = 0
        self._pacer = FramePacer(fps if self.is_file else 0.0)

    def describe(self) -> str:
        return f"{self.name} {self.target}"

    def no_frame_hint(self) -> str:
        if self.is_file:
            return "Check that the file is a video that OpenCV can decode (`ffprobe FILE` shows its streams)"
        return (
            "Check the device index, the cable and the permissions "
            "(`ls -l /dev/video*` lists the cameras, and the user must be in the video group)"
        )

    def open(self) -> None:
        cv2 = self._cv2 = import_cv2()
        if isinstance(self.target, str) and not self.is_file and not self.target.startswith("/dev/"):
            raise SourceConfigError(f"video file {self.target} not found: pass an existing file or a /dev/videoN device")
        capture = cv2.VideoCapture(self.target)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"OpenCV cannot open {self.describe()}")
        if not self.is_file:
            if self.size_px is not None:
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.size_px[0])
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size_px[1])
            if self.fps > 0:
                capture.set(cv2.CAP_PROP_FPS, self.fps)
        self._capture = capture
        self._pacer.reset()
        logger.info(
            "opened %s: %dx%d at %.1f fps reported by the driver",
            self.describe(),
            int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            capture.get(cv2.CAP_PROP_FPS),
        )

    def read(self) -> Frame:
        if self._capture is None:
            raise SourceError(f"{self.describe()} is not open")
        self._pacer.wait()
        started_ns = monotonic_ns()
        ok, bgr = self._capture.read()
        if not ok:
            if not self.is_file:
                raise SourceError(f"{self.describe()} returned no frame")
            if not self.loop:
                raise EndOfSource(f"{self.describe()} ended after {self._frame_number} frames")
            self._capture.set(self._cv2.CAP_PROP_POS_FRAMES, 0)
            ok, bgr = self._capture.read()
            if not ok:
                raise SourceError(f"{self.describe()} returned no frame after rewinding")
        if bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3:
            raise CorruptFrameError(f"{self.describe()} returned a frame of shape {getattr(bgr, 'shape', None)}")
        self._frame_number += 1
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        return make_frame(rgb, started_ns, str(self._frame_number))

    def close(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()
