"""``prepare_dataset``: from an ImageFolder tree to clean, reduced, split images and a data report.

Output layout under out_dir::

    train/<class>/<name>.<jpg|png>   val/...   test/...
    classes.json        JSON list of class names; the index is the class index
    data_report.json    every dropped, changed and flagged file, counts, options, digest
    data_report.md      the same report for people

The source tree is only read. The output is written next to out_dir and moved into place only
when every step succeeded, so a failed run leaves an earlier output in out_dir as it was (see
:mod:`frugalclip_host.data.output_folder`). See :mod:`frugalclip_host.data.duplicates` for the
duplicate policy and :mod:`frugalclip_host.data.store` for the output format.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import imagehash
from frugalclip_device.bundle_format import DATA_REPORT_FILE
from tqdm import tqdm

from frugalclip_host.data.class_cap import cap_class_groups
from frugalclip_host.data.clean import UnusableFileError, clean_image
from frugalclip_host.data.discover import SourceTree, discover_source
from frugalclip_host.data.duplicates import find_duplicate_groups, resolve_duplicates
from frugalclip_host.data.errors import DataError
from frugalclip_host.data.options import PrepareOptions
from frugalclip_host.data.output_folder import (
    check_output_folder,
    discard_work_folder,
    make_work_folder,
    replace_output,
)
from frugalclip_host.data.records import DropReason, DroppedFile, ScannedImage
from frugalclip_host.data.report import build_report, render_summary
from frugalclip_host.data.split import Split, active_splits, split_class_groups
from frugalclip_host.data.store import write_output
from frugalclip_host.data.thumbnail import color_thumbnail

__all__ = [
    "CLASSES_FILE",
    "DataError",
    "PrepareOptions",
    "PreparedData",
    "REPORT_FILE",
    "SUMMARY_FILE",
    "prepare_dataset",
]

logger = logging.getLogger(__name__)

REPORT_FILE = DATA_REPORT_FILE
SUMMARY_FILE = "data_report.md"
CLASSES_FILE = "classes.json"
_STAGING_DIR = ".staging"
# Everything prepare_dataset writes; only these are replaced when out_dir is prepared again.
_OWNED_ENTRIES = [split.value for split in Split] + [_STAGING_DIR, REPORT_FILE, SUMMARY_FILE, CLASSES_FILE]


@dataclass(frozen=True)
class PreparedData:
    out_dir: Path
    classes: list[str]  # sorted; the index is the class index
    splits: dict[str, list[tuple[Path, int]]]  # "train" | "val" | "test" -> (image path, class index)
    report_path: Path  # data_report.json
    summary_path: Path  # data_report.md
    report: dict


def _check_paths(source: Path, out_dir: Path) -> None:
    if out_dir == source or out_dir.is_relative_to(source):
        raise DataError(
            f"output folder {out_dir} is inside the source folder {source}; pick a folder outside it."
        )
    if source.is_relative_to(out_dir):
        raise DataError(f"source folder {source} is inside the output folder {out_dir}; pick another output folder.")


def _output_stem(relative_in_class: Path, used: set[str]) -> str:
    """Return a file name stem unique within its class folder, ignoring case."""
    base = "__".join(relative_in_class.with_suffix("").parts)
    stem = base
    counter = 2
    while stem.lower() in used:
        stem = f"{base}-{counter}"
        counter += 1
    used.add(stem.lower())
    return stem


def _scan(tree: SourceTree, staging: Path, options: PrepareOptions) -> tuple[list[ScannedImage], list[DroppedFile]]:
    scanned: list[ScannedImage] = []
    dropped: list[DroppedFile] = []
    total = sum(len(paths) for paths in tree.files.values())

    with tqdm(total=total, desc="Scanning images", unit="file", disable=None) as progress:
        for class_name in tree.classes:
            class_dir = tree.root / class_name
            used_stems: set[str] = set()
            for path in tree.files[class_name]:
                relative = path.relative_to(tree.root).as_posix()
                try:
                    cleaned = clean_image(path, options.max_side_px, options.min_side_px)
                except UnusableFileError as error:
                    dropped.append(DroppedFile(relative, class_name, error.reason, error.detail))
                    progress.update()
                    continue

                stem = _output_stem(path.relative_to(class_dir), used_stems)
                staged_path, output_sha256 = write_output(cleaned, path, staging / class_name / stem)
                scanned.append(
                    ScannedImage(
                        path=relative,
                        class_name=class_name,
                        source_size=cleaned.source_size,
                        output_size=cleaned.image.size,
                        pixel_sha256=cleaned.pixel_sha256,
                        phash=int(str(imagehash.phash(cleaned.image)), 16),
                        thumbnail=color_thumbnail(cleaned.image),
                        staged_path=staged_path,
                        output_sha256=output_sha256,
                        changes=cleaned.changes,
                        flags=cleaned.flags,
                    )
                )
                progress.update()
    return scanned, dropped


def _check_class_sizes(
    groups_per_class: dict[str, list[list[int]]], tree: SourceTree, options: PrepareOptions
) -> None:
    """Raise one DataError naming every class too small to split."""
    required = active_splits(options.val_fraction, options.test_fraction)
    needed_groups = len(required)
    problems: list[str] = []
    for class_name in tree.classes:
        groups = groups_per_class.get(class_name, [])
        image_count = sum(len(group) for group in groups)
        folder = tree.root / class_name
        if image_count < options.min_per_class:
            problems.append(
                f"class '{class_name}' ({folder}) keeps {image_count} usable images after cleaning, "
                f"below min_per_class={options.min_per_class}"
            )
        elif len(groups) < needed_groups:
            problems.append(
                f"class '{class_name}' ({folder}) keeps {image_count} usable images in {len(groups)} "
                f"duplicate-free groups, but needs {needed_groups} to put one in each split "
                f"({', '.join(s.value for s in required)})"
            )
    if problems:
        raise DataError(
            "; ".join(problems)
            + ". Add distinct images to these classes, remove the class folders, or lower "
            "min_per_class, val_fraction or test_fraction. data_report.json is not written."
        )


def prepare_dataset(source: Path, out_dir: Path, options: PrepareOptions | None = None) -> PreparedData:
    """Clean, deduplicate, reduce and split an ImageFolder tree into out_dir; return what was written.

    Raises DataError, naming the folder or class and the fix, when the source is missing, has
    fewer than 2 classes or an empty class folder, or a class keeps too few images to split.
    """
    options = options or PrepareOptions()
    source = Path(source).resolve()
    out_dir = Path(out_dir).resolve()
    _check_paths(source, out_dir)
    tree = discover_source(source)
    logger.info("preparing %s (%d classes) into %s", source, len(tree.classes), out_dir)

    check_output_folder(out_dir, REPORT_FILE)
    work_dir = make_work_folder(out_dir)
    try:
        prepared = _prepare_staged(tree, work_dir, out_dir, options)
        if (work_dir / _STAGING_DIR).exists():
            shutil.rmtree(work_dir / _STAGING_DIR)
        replace_output(work_dir, out_dir, _OWNED_ENTRIES)
    except BaseException:
        discard_work_folder(work_dir)
        raise

    counts = prepared.report["counts"]
    logger.info(
        "prepared %d of %d files into %s (%d dropped): train %d, val %d, test %d; report %s",
        counts["images_kept"],
        counts["files_found"],
        out_dir,
        counts["files_dropped"],
        len(prepared.splits["train"]),
        len(prepared.splits["val"]),
        len(prepared.splits["test"]),
        prepared.report_path,
    )
    return prepared


def _prepare_staged(tree: SourceTree, work_dir: Path, out_dir: Path, options: PrepareOptions) -> PreparedData:
    """Write the whole output into work_dir; the returned paths point where it will be in out_dir."""
    scanned, dropped = _scan(tree, work_dir / _STAGING_DIR, options)
    dropped.extend(tree.ignored)

    duplicate_search = find_duplicate_groups(
        scanned, options.near_duplicate_max_distance, options.near_duplicate_max_color_difference
    )
    resolution = resolve_duplicates(scanned, duplicate_search.groups)
    dropped.extend(resolution.dropped.values())

    groups_per_class: dict[str, list[list[int]]] = {name: [] for name in tree.classes}
    for group in resolution.kept_groups:
        groups_per_class[scanned[group[0]].class_name].append(group)

    for class_name in tree.classes:
        kept, removed = cap_class_groups(groups_per_class[class_name], options.max_per_class, options.seed, class_name)
        groups_per_class[class_name] = kept
        for index in removed:
            dropped.append(
                DroppedFile(
                    scanned[index].path,
                    class_name,
                    DropReason.OVER_CLASS_CAP,
                    f"not among the {options.max_per_class} images sampled with seed {options.seed}",
                )
            )

    _check_class_sizes(groups_per_class, tree, options)

    split_of: dict[int, Split] = {}
    for class_name in tree.classes:
        assignment = split_class_groups(
            groups_per_class[class_name], options.val_fraction, options.test_fraction, options.seed, class_name
        )
        for split, indices in assignment.items():
            for index in indices:
                split_of[index] = split

    class_index = {name: position for position, name in enumerate(tree.classes)}
    splits: dict[str, list[tuple[Path, int]]] = {split.value: [] for split in Split}
    output_paths: dict[int, str] = {}
    for index, split in sorted(split_of.items()):
        image = scanned[index]
        relative = Path(split.value, image.class_name, image.staged_path.name)
        (work_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        os.replace(image.staged_path, work_dir / relative)
        output_paths[index] = relative.as_posix()
        splits[split.value].append((out_dir / relative, class_index[image.class_name]))
    for entries in splits.values():
        entries.sort()

    hidden_per_class = Counter(item.class_name for item in tree.ignored if item.class_name is not None)
    report = build_report(
        source=tree.root,
        out_dir=out_dir,
        options=options,
        classes=tree.classes,
        files_per_class={name: len(tree.files[name]) + hidden_per_class[name] for name in tree.classes},
        scanned=scanned,
        dropped=dropped,
        split_of=split_of,
        output_paths=output_paths,
        duplicate_groups=duplicate_search.groups,
        rejected_near_pairs=duplicate_search.rejected_pairs,
        conflict_groups=resolution.conflict_groups,
    )

    (work_dir / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (work_dir / SUMMARY_FILE).write_text(render_summary(report), encoding="utf-8")
    (work_dir / CLASSES_FILE).write_text(json.dumps(tree.classes, indent=2) + "\n", encoding="utf-8")

    return PreparedData(
        out_dir=out_dir,
        classes=list(tree.classes),
        splits=splits,
        report_path=out_dir / REPORT_FILE,
        summary_path=out_dir / SUMMARY_FILE,
        report=report,
    )
