"""The images a benchmark runs on: a labelled folder (``<class>/<image>``) or a plain image folder.

A prepared folder (``train/``, ``val/``, ``test/`` with class folders inside) is benchmarked on
its held-out ``test`` split. Images are taken in turn from each class folder, so that a
``limit`` keeps the subset balanced, and files that cannot be decoded are skipped and listed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..preprocess import ImageDecodeError, load_image_rgb

__all__ = ["IMAGE_SUFFIXES", "BenchImages", "DatasetError", "SkippedImage", "decode_problem", "find_images"]

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
_LOGGED_SKIPS = 5  # skipped files named in the warning; the result JSON lists all of them


class DatasetError(ValueError):
    """A data folder that is missing or contains no usable images."""


@dataclass(frozen=True)
class SkippedImage:
    """An image file left out of the benchmark because it cannot be decoded."""

    path: Path
    reason: str


@dataclass(frozen=True)
class BenchImages:
    """Image paths in benchmark order, with the index of their bundle label, or None when unlabelled."""

    root: Path
    paths: list[Path]
    label_indices: list[int] | None
    split: str | None  # "test" when a prepared folder's test split was used
    skipped: list[SkippedImage] = field(default_factory=list)
    images_per_folder: dict[str, int] = field(default_factory=dict)  # "." for images at the top level
    unknown_folders: list[str] = field(default_factory=list)  # class folders that are not bundle labels

    @property
    def labelled(self) -> bool:
        return self.label_indices is not None


def decode_problem(path: Path) -> str | None:
    """Return why ``path`` cannot be decoded as an image, or None when it decodes."""
    try:
        load_image_rgb(path)
    except ImageDecodeError as error:
        return str(error)
    return None


def _images_in(folder: Path) -> list[Path]:
    return sorted(path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES)


def _decodable(
    items: list[tuple[Path, int | None]], check: Callable[[Path], str | None], skipped: list[SkippedImage]
) -> Iterator[tuple[Path, int | None]]:
    for path, label_index in items:
        problem = check(path)
        if problem is None:
            yield path, label_index
        else:
            skipped.append(SkippedImage(path, problem))


def _round_robin(
    groups: list[list[tuple[Path, int | None]]], limit: int | None, check: Callable[[Path], str | None],
    skipped: list[SkippedImage],
) -> list[tuple[int, Path, int | None]]:
    """Take one decodable image from each group in turn until ``limit`` or every group is exhausted.

    Returns (group index, path, label index) triples. Only the files met while selecting are
    decoded, so a small ``limit`` on a large folder stays quick.
    """
    active = [(number, _decodable(group, check, skipped)) for number, group in enumerate(groups)]
    selected: list[tuple[int, Path, int | None]] = []
    while active:
        still_active = []
        for number, iterator in active:
            if limit is not None and len(selected) >= limit:
                return selected
            item = next(iterator, None)
            if item is not None:
                selected.append((number, *item))
                still_active.append((number, iterator))
        active = still_active
    return selected


def find_images(
    data_dir: Path,
    labels: list[str],
    *,
    limit: int | None = None,
    check: Callable[[Path], str | None] = decode_problem,
) -> BenchImages:
    """List the decodable images of ``data_dir`` for a bundle with ``labels``.

    Class folders whose names are all among the bundle's labels make the data labelled.
    Otherwise, or when the folder has images at its top level, it is treated as unlabelled
    and no accuracy is computed. Images are taken from each class folder in turn (the top
    level counting as one more folder), so ``limit`` keeps a subset balanced between
    classes. ``check`` returns why a file cannot be used, or None; such files are skipped,
    logged and listed in ``skipped``. Raises DatasetError when no image is left.
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
    labelled = bool(class_dirs) and not top_level and not unknown

    folders: list[str] = (["."] if top_level else []) + [folder.name for folder in class_dirs]
    groups: list[list[tuple[Path, int | None]]] = [[(path, None) for path in top_level]] if top_level else []
    for folder in class_dirs:
        label_index = labels.index(folder.name) if labelled else None
        groups.append([(path, label_index) for path in _images_in(folder)])
    if not any(groups):
        raise DatasetError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {root} or its class folders")

    if unknown:
        logger.warning(
            "folders %s of %s are not among the bundle's labels %s: the images are benchmarked unlabelled, without accuracy",
            unknown, root, labels,
        )
    elif top_level and class_dirs:
        logger.warning("%s has images at its top level beside class folders: the images are benchmarked unlabelled, "
                       "without accuracy", root)

    skipped: list[SkippedImage] = []
    selected = _round_robin(groups, limit, check, skipped)
    if skipped:
        named = ", ".join(f"{item.path} ({item.reason})" for item in skipped[:_LOGGED_SKIPS])
        more = f" and {len(skipped) - _LOGGED_SKIPS} more" if len(skipped) > _LOGGED_SKIPS else ""
        logger.warning("skipped %d undecodable image file(s): %s%s", len(skipped), named, more)
    if not selected:
        raise DatasetError(
            f"no decodable images in {root}: all {len(skipped)} image files failed to decode, e.g. {skipped[0].reason}; "
            "replace or remove the broken files"
        )

    per_folder = {name: 0 for name in folders}
    for number, _, _ in selected:
        per_folder[folders[number]] += 1
    paths = [path for _, path, _ in selected]
    label_indices = [index for _, _, index in selected] if labelled else None
    logger.info("benchmark data %s: %d %s images from %d folders", root, len(paths),
                "labelled" if labelled else "unlabelled", len(folders))
    return BenchImages(root, paths, label_indices, split, skipped, per_folder, unknown)
