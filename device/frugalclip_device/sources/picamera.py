"""The Raspberry Pi camera through picamera2, imported only when this source is chosen.

picamera2 names pixel formats after the DRM fourcc codes, so in NumPy the channels arrive
in the reverse order of the name. ``RGB888`` arrives as B, G, R and ``BGR888`` as R, G, B.
``XRGB8888`` arrives as B, G, R, X and ``XBGR8888`` as R, G, B, X.
``capture_array()`` with the default preview configuration returns 4 channels, which is why
the stream format is always configured explicitly here.
"""

from __future__ import annotations

import enum
import importlib
import logging
from typing import Any

import numpy as np

from .base import CorruptFrameError, Frame, FrameSource, SourceConfigError, SourceError, make_frame, monotonic_ns

__all__ = ["PICAMERA2_MISSING_MESSAGE", "PicameraPixelFormat", "Picamera2Source", "picamera_array_to_rgb"]

logger = logging.getLogger(__name__)

PICAMERA2_MISSING_MESSAGE = (
    "picamera2 is not installed: on Raspberry Pi OS, `sudo apt install python3-picamera2` "
    "and create the venv with `--system-site-packages`"
)


class PicameraPixelFormat(enum.Enum):
    """picamera2 stream formats, with the channel order each one has in NumPy."""

    RGB888 = "RGB888"  # B, G, R
    BGR888 = "BGR888"  # R, G, B
    XRGB8888 = "XRGB8888"  # B, G, R, X
    XBGR8888 = "XBGR8888"  # R, G, B, X

    @property
    def channels(self) -> int:
        return 4 if self.value.startswith("X") else 3

    @property
    def arrives_bgr(self) -> bool:
        return self in (PicameraPixelFormat.RGB888, PicameraPixelFormat.XRGB8888)


def picamera_array_to_rgb(array: np.ndarray, pixel_format: PicameraPixelFormat) -> np.ndarray:
    """Return a C-contiguous RGB uint8 [H, W, 3] copy of a picamera2 array in ``pixel_format``."""
    expected = pixel_format.channels
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != expected:
        raise CorruptFrameError(
            f"picamera2 returned {array.dtype} {array.shape} for format {pixel_format.value}, "
            f"expected uint8 [H, W, {expected}]"
        )
    rgb = array[:, :, 2::-1] if pixel_format.arrives_bgr else array[:, :, :3]
    return np.ascontiguousarray(rgb)


def import_picamera2() -> Any:
    """Import and return the picamera2 module, or raise SourceConfigError with the install hint."""
    try:
        return importlib.import_module("picamera2")
    except ImportError as error:
        raise SourceConfigError(PICAMERA2_MISSING_MESSAGE) from error


class Picamera2Source(FrameSource):
    """Frames from the Pi camera's main stream, configured with an explicit size and format."""

    name = "picamera2"

    def __init__(
        self,
        *,
        camera_index: int = 0,
        size_px: tuple[int, int] = (640, 480),
        pixel_format: PicameraPixelFormat = PicameraPixelFormat.RGB888,
        fps: float = 0.0,
    ) -> None:
        self.camera_index = camera_index
        self.size_px = size_px
        self.pixel_format = pixel_format
        self.fps = fps
        self._camera: Any = None
        self._frame_number = 0

    def describe(self) -> str:
        rate = f"{self.fps:g} fps requested" if self.fps > 0 else "default frame rate"
        width, height = self.size_px
        return f"picamera2 camera {self.camera_index}, {width}x{height} {self.pixel_format.value}, {rate}"

    def no_frame_hint(self) -> str:
        return (
            f"Check the camera's ribbon cable and that `rpicam-hello --list-cameras` lists camera {self.camera_index} "
            "(the user must be in the video group)"
        )

    def open(self) -> None:
        module = import_picamera2()
        try:
            camera = module.Picamera2(self.camera_index)
            controls = {"FrameRate": float(self.fps)} if self.fps > 0 else {}
            config = camera.create_video_configuration(
                main={"size": tuple(self.size_px), "format": self.pixel_format.value},
                controls=controls,
            )
            camera.configure(config)
            camera.start()
        except Exception as error:  # picamera2 and libcamera raise RuntimeError, OSError and their own types
            raise SourceError(f"cannot open picamera2 camera {self.camera_index}: {error}") from error
        self._camera = camera
        logger.info("opened %s", self.describe())

    def read(self) -> Frame:
        if self._camera is None:
            raise SourceError("picamera2 camera is not open")
        started_ns = monotonic_ns()
        try:
            array = self._camera.capture_array("main")
        except Exception as error:  # a camera unplugged mid-run surfaces as various libcamera errors
            raise SourceError(f"picamera2 capture failed: {error}") from error
        image = picamera_array_to_rgb(np.asarray(array), self.pixel_format)
        self._frame_number += 1
        return make_frame(image, started_ns, str(self._frame_number))

    def close(self) -> None:
        camera, self._camera = self._camera, None
        if camera is None:
            return
        for method in ("stop", "close"):
            try:
                getattr(camera, method)()
            except Exception as error:  # closing a camera that already failed may raise again
                logger.warning("picamera2 %s failed: %s", method, error)
