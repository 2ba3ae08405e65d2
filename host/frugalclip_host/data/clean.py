"""Decoding and cleaning of one source file: orientation, RGB conversion and size reduction."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from frugalclip_host.data.color import convert_to_rgb
from frugalclip_host.data.records import Change, ChangeKind, DropReason, FlagKind
from frugalclip_host.data.resize import reduced_size

__all__ = ["CleanedImage", "UnusableFileError", "clean_image"]

logger = logging.getLogger(__name__)

# Same filter as the device's resize (PreprocessContract.interpolation).
RESIZE_FILTER = Image.Resampling.BICUBIC

# EXIF Orientation values 2..8 rotate and/or flip; 1 is upright, anything else is invalid.
_TRANSPOSING_ORIENTATIONS = range(2, 9)


class UnusableFileError(Exception):
    """A source file that cannot become a training image."""

    def __init__(self, reason: DropReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class CleanedImage:
    image: Image.Image  # RGB, reduced
    source_format: str | None  # Pillow's format name of the source file, e.g. "JPEG"
    source_size: tuple[int, int]  # (width, height) in pixels after EXIF orientation
    pixel_sha256: str  # of the RGB pixels before resizing, prefixed with the size
    changes: list[Change] = field(default_factory=list)
    flags: list[FlagKind] = field(default_factory=list)


def _image_extensions() -> set[str]:
    return {extension.lower() for extension in Image.registered_extensions()}


def _decode(path: Path) -> tuple[Image.Image, str | None, int]:
    """Open and fully decode the first frame; return it, its format and the frame count."""
    try:
        size_bytes = path.stat().st_size
    except OSError as error:
        raise UnusableFileError(DropReason.UNREADABLE, str(error)) from error
    if size_bytes == 0:
        raise UnusableFileError(DropReason.EMPTY_FILE, "file is 0 bytes")

    try:
        with Image.open(path) as opened:
            frame_count = getattr(opened, "n_frames", 1)
            opened.load()
            source_format = opened.format
            image = opened.copy()
    except UnidentifiedImageError as error:
        if path.suffix.lower() in _image_extensions():
            raise UnusableFileError(
                DropReason.UNDECODABLE, f"extension {path.suffix} but Pillow does not recognise the content"
            ) from error
        raise UnusableFileError(DropReason.NOT_AN_IMAGE, "Pillow does not recognise the content") from error
    except Image.DecompressionBombError as error:
        raise UnusableFileError(DropReason.TOO_LARGE, str(error)) from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        message = str(error)
        if "truncated" in message.lower():
            raise UnusableFileError(DropReason.TRUNCATED, message) from error
        raise UnusableFileError(DropReason.UNDECODABLE, message or type(error).__name__) from error
    return image, source_format, frame_count


def _apply_exif_orientation(image: Image.Image, changes: list[Change]) -> Image.Image:
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except (OSError, SyntaxError, ValueError) as error:
        logger.debug("ignoring unreadable EXIF data: %s", error)
        return image
    if orientation not in _TRANSPOSING_ORIENTATIONS:
        return image
    transposed = ImageOps.exif_transpose(image)
    changes.append(Change(ChangeKind.EXIF_ORIENTATION, f"applied EXIF Orientation {orientation}"))
    return transposed


def _hash_pixels(image: Image.Image) -> str:
    digest = hashlib.sha256(f"{image.width}x{image.height}:".encode("ascii"))
    digest.update(image.tobytes())
    return digest.hexdigest()


def clean_image(path: Path, max_side_px: int, min_side_px: int) -> CleanedImage:
    """Decode a file and return it upright, in RGB and reduced in size, with every change recorded.

    Raises UnusableFileError with the drop reason when the file is empty, unreadable, not an
    image, truncated, undecodable or too large to decode safely.
    """
    image, source_format, frame_count = _decode(path)
    changes: list[Change] = []
    flags: list[FlagKind] = []

    if frame_count > 1:
        changes.append(Change(ChangeKind.FIRST_FRAME, f"kept frame 1 of {frame_count}"))

    image = _apply_exif_orientation(image, changes)

    image, conversion = convert_to_rgb(image)
    if conversion is not None:
        changes.append(Change(ChangeKind.MODE_CONVERSION, conversion))

    source_size = image.size
    pixel_sha256 = _hash_pixels(image)

    target_size = reduced_size(image.width, image.height, max_side_px, min_side_px)
    if target_size != image.size:
        changes.append(
            Change(
                ChangeKind.RESIZED,
                f"{image.width}x{image.height} -> {target_size[0]}x{target_size[1]} px",
            )
        )
        image = image.resize(target_size, RESIZE_FILTER)

    if min(image.size) < min_side_px:
        flags.append(FlagKind.SMALLER_THAN_INPUT)

    return CleanedImage(
        image=image,
        source_format=source_format,
        source_size=source_size,
        pixel_sha256=pixel_sha256,
        changes=changes,
        flags=flags,
    )
