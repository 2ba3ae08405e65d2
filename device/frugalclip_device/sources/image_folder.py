"""Images from a folder or a glob pattern, in sorted order, optionally looped and paced."""

from __future__ import annotations

import glob
import logging
from pathlib import Path

import numpy as np

from ..preprocess import ImageDecodeError, load_image_rgb
from .base import CorruptFrameError, EndOfSource, Frame, FrameSource, SourceConfigError, SourceError, make_frame, monotonic_ns
from .pacing import FramePacer

__all__ = ["IMAGE_SUFFIXES", "ImageFolderSource", "list_images"]

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


def list_images(pattern: str) -> list[Path]:
    """Return the image files of a folder (recursively) or of a glob pattern, sorted by path."""
    root = Path(pattern)
    if root.is_dir():
        candidates = root.rglob("*")
    elif glob.has_magic(pattern):
        candidates = (Path(name) for name in glob.glob(pattern, recursive=True))
    else:
        return []
    return sorted(path for path in candidates if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file())


class ImageFolderSource(FrameSource):
    """Each image file is one frame.

    ``fps`` > 0 paces delivery to that rate, like a camera; 0 delivers as fast as decoding
    goes. ``loop`` starts again from the first file after the last one.
    """

    name = "folder"

    def __init__(self, pattern: str, *, loop: bool = False, fps: float = 0.0) -> None:
        self.pattern = pattern
        self.loop = loop
        self.fps = fps
        self.paths: list[Path] = []
        self._position = 0
        self._pacer = FramePacer(fps)

    def no_frame_hint(self) -> str:
        return "Check that the images can be decoded: unreadable ones are skipped as corrupt frames"

    def describe(self) -> str:
        pace = f", paced at {self.fps:g} fps" if self.fps > 0 else ""
        return f"folder {self.pattern} ({len(self.paths)} images{', looped' if self.loop else ''}{pace})"

    def open(self) -> None:
        first_open = not self.paths
        paths = list_images(self.pattern)
        if not paths:
            message = f"no images found in {self.pattern}: pass a folder or a glob pattern of {sorted(IMAGE_SUFFIXES)} files"
            if first_open:
                raise SourceConfigError(message)
            raise SourceError(message)
        self.paths = paths
        self._position %= len(paths)
        self._pacer.reset()
        logger.info("opened %s", self.describe())

    def read(self) -> Frame:
        if not self.paths:
            raise SourceError(f"folder source {self.pattern} is not open")
        if self._position >= len(self.paths):
            if not self.loop:
                raise EndOfSource(f"all {len(self.paths)} images of {self.pattern} were read")
            self._position = 0

        self._pacer.wait()
        path = self.paths[self._position]
        self._position += 1
        started_ns = monotonic_ns()
        try:
            image = load_image_rgb(path)
        except ImageDecodeError as error:
            if isinstance(error.__cause__, FileNotFoundError):
                raise SourceError(f"image {path} disappeared: {error.__cause__}") from error
            raise CorruptFrameError(str(error)) from error
        return make_frame(np.asarray(image), started_ns, str(path))

    def close(self) -> None:
        """Nothing to release: files are opened and closed per frame."""
