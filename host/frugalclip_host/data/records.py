"""Per-file records of data preparation: drop reasons, changes and flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np

__all__ = ["Change", "ChangeKind", "DropReason", "DroppedFile", "FlagKind", "ScannedImage"]


class DropReason(str, Enum):
    """Reason a source file is left out of the prepared dataset."""

    EMPTY_FILE = "empty_file"  # 0 bytes
    UNREADABLE = "unreadable"  # the file system refused to read it
    NOT_AN_IMAGE = "not_an_image"  # no image extension and Pillow does not recognise the content
    UNDECODABLE = "undecodable"  # image extension or header, but decoding failed
    TRUNCATED = "truncated"  # the decoder ran out of data
    TOO_LARGE = "too_large"  # over Pillow's decompression bomb limit
    HIDDEN = "hidden"  # name or a parent folder starts with "."
    OUTSIDE_CLASS_FOLDER = "outside_class_folder"  # directly in SOURCE, not in SOURCE/<class>/
    EXACT_DUPLICATE = "exact_duplicate"  # same decoded pixels as a kept image of the same class
    LABEL_CONFLICT = "label_conflict"  # exact or near duplicate of an image in another class
    OVER_CLASS_CAP = "over_class_cap"  # not sampled under max_per_class


class ChangeKind(str, Enum):
    """Kind of difference between a kept image and its source file."""

    EXIF_ORIENTATION = "exif_orientation"  # rotated or flipped to undo its EXIF Orientation tag
    MODE_CONVERSION = "mode_conversion"  # converted to 8-bit RGB
    FIRST_FRAME = "first_frame"  # multi-frame file, only the first frame kept
    RESIZED = "resized"
    REENCODED = "reencoded"  # written as PNG instead of copying the source bytes


class FlagKind(str, Enum):
    """A kept image that deserves a look, but is not changed for it."""

    SMALLER_THAN_INPUT = "smaller_than_input"  # shorter side below min_side_px; CLIP upsamples it


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    detail: str


@dataclass(frozen=True)
class DroppedFile:
    path: str  # relative to SOURCE, with "/" separators
    class_name: str | None  # None for files outside a class folder
    reason: DropReason
    detail: str


@dataclass
class ScannedImage:
    """A decoded, cleaned source image, already written to the staging folder."""

    path: str  # relative to SOURCE, with "/" separators
    class_name: str
    source_size: tuple[int, int]  # (width, height) in pixels, after EXIF orientation
    output_size: tuple[int, int]  # (width, height) in pixels
    pixel_sha256: str  # of the decoded RGB pixels before resizing, with the size
    phash: int  # 64-bit imagehash.phash of the output image
    thumbnail: np.ndarray  # uint8 (16, 16, 3) RGB thumbnail of the output image, see thumbnail.py
    staged_path: Path
    output_sha256: str  # of the written output file
    changes: list[Change] = field(default_factory=list)
    flags: list[FlagKind] = field(default_factory=list)
