"""Read a prepared image folder: ``{train,val,test}/<class>/*`` and ``classes.json``."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CLASSES_FILE", "IMAGE_SUFFIXES", "SPLITS", "LabelledImage", "PreparedData", "read_prepared"]

logger = logging.getLogger(__name__)

CLASSES_FILE = "classes.json"
SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    label_index: int


@dataclass
class PreparedData:
    """Class names and the labelled image files of each split, sorted by path."""

    root: Path
    classes: list[str]
    splits: dict[str, list[LabelledImage]]

    def count(self, split: str) -> int:
        return len(self.splits[split])


def read_prepared(root: Path) -> PreparedData:
    """Return the classes and images of the prepared folder ``root``; raise ValueError if unusable."""
    root = Path(root)
    classes_path = root / CLASSES_FILE
    if not classes_path.is_file():
        raise FileNotFoundError(f"{classes_path} not found; run `frugalclip prepare` to create the prepared folder")
    try:
        classes = json.loads(classes_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"invalid {classes_path}: {error}") from error
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(name, str) for name in classes):
        raise ValueError(f"{classes_path} must contain a JSON list of at least 2 class names, got {classes!r}")

    splits: dict[str, list[LabelledImage]] = {}
    for split in SPLITS:
        images = []
        for index, name in enumerate(classes):
            folder = root / split / name
            if not folder.is_dir():
                continue
            files = sorted(path for path in folder.iterdir() if path.suffix.lower() in IMAGE_SUFFIXES)
            images += [LabelledImage(path, index) for path in files]
        splits[split] = images

    for split in ("train", "val"):
        if not splits[split]:
            raise ValueError(f"{root / split} contains no images of the classes {classes}; check the prepared folder")
    logger.info(
        "read %s: %d classes, %s images",
        root,
        len(classes),
        ", ".join(f"{split} {len(splits[split])}" for split in SPLITS),
    )
    return PreparedData(root, list(classes), splits)
