"""Tests of the DataError cases of prepare_dataset and PrepareOptions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from data_fixtures import SMALL_OPTIONS, write_photo_tree

from frugalclip_host.data.options import PrepareOptions
from frugalclip_host.data.prepare import DataError, prepare_dataset


def test_single_image_class_rejected(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 5, "dog": 1})

    with pytest.raises(DataError, match="class 'dog'"):
        prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS)


def test_single_image_error_leaves_no_output(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 5, "dog": 1})

    with pytest.raises(DataError):
        prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["source"]


def test_one_class_rejected(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 5})

    with pytest.raises(DataError, match="at least 2"):
        prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS)


def test_missing_source_rejected(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        prepare_dataset(tmp_path / "nowhere", tmp_path / "out", SMALL_OPTIONS)


def test_empty_class_folder_rejected(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 5, "dog": 5})
    (source / "bird").mkdir()

    with pytest.raises(DataError, match="bird"):
        prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS)


def test_all_copies_class_rejected(tmp_path: Path) -> None:
    source = tmp_path / "source"
    paths = write_photo_tree(source, {"cat": 5, "dog": 1})
    for number in range(4):
        shutil.copyfile(paths["dog"][0], source / "dog" / f"copy-{number}.jpg")

    with pytest.raises(DataError, match="class 'dog'.* 1 usable images"):
        prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS)


def test_undecodable_class_rejected(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 5})
    (source / "dog").mkdir()
    for number in range(3):
        (source / "dog" / f"broken-{number}.jpg").write_bytes(b"\x00" * 64)

    with pytest.raises(DataError, match="class 'dog'.* 0 usable images"):
        prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS)


def test_zero_fractions_allow_two_images(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 2, "dog": 2})
    options = PrepareOptions(max_side_px=64, min_side_px=32, min_per_class=1, val_fraction=0.0, test_fraction=0.5)
    prepared = prepare_dataset(source, tmp_path / "out", options)

    assert len(prepared.splits["val"]) == 0
    assert len(prepared.splits["test"]) == 2


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_side_px": 100, "min_side_px": 224}, "max_side_px"),
        ({"val_fraction": 0.6, "test_fraction": 0.4}, "no training images"),
        ({"test_fraction": -0.1}, "test_fraction"),
        ({"max_per_class": 0}, "max_per_class"),
        ({"near_duplicate_max_distance": 65}, "near_duplicate_max_distance"),
        ({"min_per_class": 0}, "min_per_class"),
    ],
)
def test_invalid_option_rejected(fields: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        PrepareOptions(**fields)
