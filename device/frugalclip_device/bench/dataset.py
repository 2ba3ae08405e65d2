"""The images a benchmark runs on: a labelled folder (``<class>/<image>``) or a plain image folder.

A prepared folder (``train/``, ``val/``, ``test/`` with class folders inside) is benchmarked on
its held-out ``test`` split.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

__all__ = ["IMAGE_SUFFIXES", "BenchImages", "DatasetError", "find_images"]

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


class DatasetError(ValueError):
    """A data folder that is missing or contains no usable images."""


@dataclass(frozen=True)
class BenchImages:
    """Image paths in benchmark order, with the index of their bundle label, or None when unlabelled."""

    root: Path
    paths: list[Path]
    label_indices: list[int] | None
    split: str | None  # "test" when a prepared folder's test split was used

    @property
    def labelled(self) -> bool:
        return self.label_indices is not None


def _images_in(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES)


def find_images(data_dir: Path, labels: list[str], *, limit: int | None = None) -> BenchImages:
    """List the images of ``data_dir`` for a bundle with ``labels``.

    Class folders whose names are all among the bundle's labels make the data labelled.
    Otherwise, or when the folder has images at its top level, it is treated as unlabelled
    and no accuracy is computed. ``limit`` keeps the first images of each class in turn, so
    that a subset stays balanced between classes.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise DatasetError(f"data folder {root} not found: pass a folder of class folders, e.g. --data ../shared/data/trashnet")
    if limit is not None and limit < 1:
        raise DatasetError(f"--limit must be at least 1 image, got {limit}")

    split = None
    if (root / "test").is_dir() and (root / "train").is_dir():
        root, split = root / "test", "test"

    class_dirs = sorted(path for path in root.iterdir() if path.is_dir() and not path.name.startswith("."))
    top_level = _images_in(root)
    unknown = sorted(path.name for path in class_dirs if path.name not in labels)

    if class_dirs and not top_level and not unknown:
        per_class = [[(path, labels.index(folder.name)) for path in _images_in(folder)] for folder in class_dirs]
        interleaved = [item for group in zip_longest(*per_class) for item in group if item is not None]
        if limit is not None:
            interleaved = interleaved[:limit]
        if not interleaved:
            raise DatasetError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in the class folders of {root}")
        logger.info("benchmark data %s: %d labelled images in %d classes", root, len(interleaved), len(class_dirs))
        return BenchImages(root, [path for path, _ in interleaved], [index for _, index in interleaved], split)

    if unknown:
        logger.warning(
            "folders %s of %s are not among the bundle's labels %s: the images are benchmarked unlabelled, without accuracy",
            unknown, root, labels,
        )
    paths = top_level + [path for folder in class_dirs for path in _images_in(folder)]
    if limit is not None:
        paths = paths[:limit]
    if not paths:
        raise DatasetError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {root}")
    logger.info("benchmark data %s: %d unlabelled images", root, len(paths))
    return BenchImages(root, paths, None, split)
