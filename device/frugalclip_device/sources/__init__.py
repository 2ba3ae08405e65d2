"""Frame sources: the Pi camera, OpenCV webcams and videos, and image folders."""

from __future__ import annotations

import enum
from pathlib import Path

from .base import CorruptFrameError, EndOfSource, Frame, FrameSource, SourceConfigError, SourceError
from .image_folder import ImageFolderSource
from .picamera import PicameraPixelFormat, Picamera2Source

__all__ = [
    "CorruptFrameError",
    "EndOfSource",
    "Frame",
    "FrameSource",
    "ImageFolderSource",
    "Picamera2Source",
    "PicameraPixelFormat",
    "SourceConfigError",
    "SourceError",
    "SourceKind",
    "open_source",
]

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mkv", ".mov", ".webm", ".h264", ".mjpeg"})


class SourceKind(enum.Enum):
    PICAMERA2 = "picamera2"
    WEBCAM = "webcam"
    VIDEO = "video"
    FOLDER = "folder"

    @property
    def live(self) -> bool:
        """True for cameras, which keep capturing while inference runs; False for files."""
        return self in (SourceKind.PICAMERA2, SourceKind.WEBCAM)


def classify_source(spec: str) -> SourceKind:
    """Tell which kind of source ``--source`` names.

    ``picamera2`` (or ``picamera2:N`` for camera N), ``webcam:N`` or ``/dev/videoN``, a video
    file by suffix, otherwise a folder or glob pattern of images.
    """
    if spec == "picamera2" or spec.startswith("picamera2:"):
        return SourceKind.PICAMERA2
    if spec.startswith("webcam:") or spec.startswith("/dev/video"):
        return SourceKind.WEBCAM
    if Path(spec).suffix.lower() in VIDEO_SUFFIXES:
        return SourceKind.VIDEO
    return SourceKind.FOLDER


def _index_after_colon(spec: str) -> int:
    _, _, number = spec.partition(":")
    if not number:
        return 0
    try:
        return int(number)
    except ValueError:
        raise SourceConfigError(f"invalid camera index in --source {spec!r}: expected e.g. {spec.split(':')[0]}:0") from None


def open_source(
    spec: str,
    *,
    size_px: tuple[int, int] = (640, 480),
    fps: float = 0.0,
    loop: bool = False,
    pixel_format: PicameraPixelFormat = PicameraPixelFormat.RGB888,
) -> FrameSource:
    """Build (not yet open) the frame source that ``--source`` names."""
    kind = classify_source(spec)
    if kind is SourceKind.PICAMERA2:
        return Picamera2Source(camera_index=_index_after_colon(spec), size_px=size_px, pixel_format=pixel_format, fps=fps)

    if kind in (SourceKind.WEBCAM, SourceKind.VIDEO):
        from .opencv import OpenCVSource

        if kind is SourceKind.VIDEO:
            return OpenCVSource(spec, fps=fps, loop=loop)
        target: int | str = spec if spec.startswith("/dev/") else _index_after_colon(spec)
        return OpenCVSource(target, size_px=size_px, fps=fps)

    return ImageFolderSource(spec, loop=loop, fps=fps)
