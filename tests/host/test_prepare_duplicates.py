"""Tests of duplicate handling: exact copies dropped, near duplicates kept in one split, label conflicts dropped.

Near duplicates need a phash match confirmed by the colour thumbnails. The tests below cover
copies that must still match and look-alikes in other colours that must not.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import imagehash
import numpy as np
import pytest
from data_fixtures import (
    GREEN_RGB,
    RED_RGB,
    SMALL_OPTIONS,
    disc_on_white,
    distinct_photos,
    write_photo_tree,
    write_resized_copy,
)
from PIL import Image, ImageEnhance

from frugalclip_host.data import duplicates
from frugalclip_host.data.duplicates import near_duplicate_pairs
from frugalclip_host.data.options import PrepareOptions
from frugalclip_host.data.prepare import prepare_dataset
from frugalclip_host.data.thumbnail import color_thumbnail, thumbnail_difference


def _write_near_copy(original: Path, copy: Path) -> None:
    """Write a slightly brighter, re-compressed copy: different pixels, nearly equal phash."""
    ImageEnhance.Brightness(Image.open(original)).enhance(1.04).save(copy, quality=80)


def _write_contrast_copy(original: Path, copy: Path) -> int:
    """Write a copy with 30 % more contrast; return its phash distance to the original in bits."""
    ImageEnhance.Contrast(Image.open(original)).enhance(1.3).save(copy, quality=90)
    return imagehash.phash(Image.open(original)) - imagehash.phash(Image.open(copy))


def _split_of(prepared) -> dict[str, str]:
    """Return output file name -> split of every prepared image."""
    return {path.name: split for split, entries in prepared.splits.items() for path, _ in entries}


def _reasons(report: dict) -> dict[str, str]:
    return {entry["path"]: entry["reason"] for entry in report["dropped"]}


def test_near_copy_within_threshold() -> None:
    original = distinct_photos()[0]
    brighter = ImageEnhance.Brightness(original).enhance(1.04)
    distance = imagehash.phash(original) - imagehash.phash(brighter)

    assert distance <= PrepareOptions().near_duplicate_max_distance


def test_exact_copy_dropped(tmp_path: Path) -> None:
    source = tmp_path / "source"
    paths = write_photo_tree(source, {"cat": 4, "dog": 4})
    shutil.copyfile(paths["cat"][0], source / "cat" / "copy.jpg")
    report = prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS).report

    assert _reasons(report) == {"cat/copy.jpg": "exact_duplicate"}


def test_png_of_jpeg_is_exact_duplicate(tmp_path: Path) -> None:
    source = tmp_path / "source"
    paths = write_photo_tree(source, {"cat": 4, "dog": 4})
    Image.open(paths["dog"][1]).save(source / "dog" / "lossless.png")
    report = prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS).report

    assert _reasons(report) == {"dog/lossless.png": "exact_duplicate"}


@pytest.mark.parametrize("seed", range(6))
def test_near_duplicates_share_split(tmp_path: Path, seed: int) -> None:
    source = tmp_path / "source"
    paths = write_photo_tree(source, {"cat": 6, "dog": 6})
    for number in range(3):
        _write_near_copy(paths["cat"][number], source / "cat" / f"near-{number}.jpg")
    options = PrepareOptions(max_side_px=64, min_side_px=32, seed=seed)
    prepared = prepare_dataset(source, tmp_path / "out", options)
    split_of = _split_of(prepared)

    assert prepared.report["counts"]["files_dropped"] == 0
    for number in range(3):
        assert split_of[f"near-{number}.jpg"] == split_of[f"cat-{number:02d}.jpg"], f"pair {number}"


@pytest.mark.parametrize("seed", range(6))
def test_exact_group_lands_in_one_split(tmp_path: Path, seed: int) -> None:
    source = tmp_path / "source"
    paths = write_photo_tree(source, {"cat": 6, "dog": 6})
    # A near copy of an image that also has an exact copy: one group, the copy dropped.
    shutil.copyfile(paths["dog"][2], source / "dog" / "exact.jpg")
    _write_near_copy(paths["dog"][2], source / "dog" / "near.jpg")
    options = PrepareOptions(max_side_px=64, min_side_px=32, seed=seed)
    prepared = prepare_dataset(source, tmp_path / "out", options)
    split_of = _split_of(prepared)

    assert _reasons(prepared.report) == {"dog/exact.jpg": "exact_duplicate"}
    assert split_of["near.jpg"] == split_of["dog-02.jpg"]


def test_cross_class_copy_is_label_conflict(tmp_path: Path) -> None:
    source = tmp_path / "source"
    paths = write_photo_tree(source, {"cat": 4, "dog": 4})
    shutil.copyfile(paths["cat"][3], source / "dog" / "mislabelled.jpg")
    report = prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS).report
    conflict_paths = [member["path"] for member in report["label_conflicts"][0]["members"]]

    assert _reasons(report) == {"cat/cat-03.jpg": "label_conflict", "dog/mislabelled.jpg": "label_conflict"}
    assert conflict_paths == ["cat/cat-03.jpg", "dog/mislabelled.jpg"]


def test_cross_class_near_copy_is_label_conflict(tmp_path: Path) -> None:
    source = tmp_path / "source"
    paths = write_photo_tree(source, {"cat": 4, "dog": 4})
    distance = _write_contrast_copy(paths["dog"][0], source / "cat" / "looks-like-dog.jpg")
    report = prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS).report

    assert 0 < distance <= SMALL_OPTIONS.near_duplicate_max_distance, f"precondition: distance {distance}"
    assert _reasons(report) == {"cat/looks-like-dog.jpg": "label_conflict", "dog/dog-00.jpg": "label_conflict"}


def test_distance_zero_ignores_near_copy(tmp_path: Path) -> None:
    source = tmp_path / "source"
    paths = write_photo_tree(source, {"cat": 4, "dog": 4})
    distance = _write_contrast_copy(paths["dog"][0], source / "cat" / "looks-like-dog.jpg")
    options = PrepareOptions(max_side_px=64, min_side_px=32, near_duplicate_max_distance=0)
    report = prepare_dataset(source, tmp_path / "out", options).report

    assert distance > 0, "precondition: the copy's phash must differ in at least one bit"
    assert report["label_conflicts"] == []


@pytest.mark.parametrize("block_elements", [1, 7, 1 << 22])
def test_pairs_match_brute_force(monkeypatch: pytest.MonkeyPatch, block_elements: int) -> None:
    monkeypatch.setattr(duplicates, "_BLOCK_ELEMENTS", block_elements)
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2**63, size=12, dtype=np.uint64)
    # Flip 0..5 low bits of copies so some pairs fall inside the threshold and some outside.
    flips = np.array([(1 << bits) - 1 for bits in range(6)], dtype=np.uint64)
    hashes = np.concatenate([base, base[:6] ^ flips])
    expected = sorted(
        (i, j, bin(int(hashes[i]) ^ int(hashes[j])).count("1"))
        for i in range(len(hashes))
        for j in range(i + 1, len(hashes))
        if bin(int(hashes[i]) ^ int(hashes[j])).count("1") <= 4
    )

    assert sorted(near_duplicate_pairs(hashes, 4)) == expected
    assert len(expected) == 5


def test_resized_copy_is_label_conflict(tmp_path: Path) -> None:
    source = tmp_path / "source"
    paths = write_photo_tree(source, {"cat": 4, "dog": 4})
    write_resized_copy(paths["dog"][1], source / "cat" / "small-dog.jpg")
    report = prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS).report
    pairs = report["label_conflicts"][0]["near_pairs"] if report["label_conflicts"] else []

    assert _reasons(report) == {"cat/small-dog.jpg": "label_conflict", "dog/dog-01.jpg": "label_conflict"}
    assert len(pairs) == 1
    assert pairs[0]["color_difference"] <= SMALL_OPTIONS.near_duplicate_max_color_difference


@pytest.mark.parametrize("seed", range(3))
def test_resized_copy_shares_split(tmp_path: Path, seed: int) -> None:
    source = tmp_path / "source"
    paths = write_photo_tree(source, {"cat": 6, "dog": 6})
    for number in range(3):
        write_resized_copy(paths["dog"][number], source / "dog" / f"small-{number}.jpg")
    options = PrepareOptions(max_side_px=64, min_side_px=32, seed=seed)
    prepared = prepare_dataset(source, tmp_path / "out", options)
    split_of = _split_of(prepared)

    assert prepared.report["rejected_near_pairs"] == []
    for number in range(3):
        assert split_of[f"small-{number}.jpg"] == split_of[f"dog-{number:02d}.jpg"], f"pair {number}"


def test_same_luma_other_color_not_grouped(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 4, "dog": 4})
    disc_on_white(RED_RGB).save(source / "cat" / "red-disc.png")
    disc_on_white(GREEN_RGB).save(source / "dog" / "green-disc.png")
    distance = imagehash.phash(disc_on_white(RED_RGB)) - imagehash.phash(disc_on_white(GREEN_RGB))
    report = prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS).report
    rejected = [(pair["a"], pair["b"]) for pair in report["rejected_near_pairs"]]

    assert distance <= SMALL_OPTIONS.near_duplicate_max_distance, f"precondition: phash distance {distance}"
    assert report["label_conflicts"] == []
    assert report["duplicate_groups"] == []
    assert report["counts"]["files_dropped"] == 0
    assert rejected == [("cat/red-disc.png", "dog/green-disc.png")]


def test_max_color_difference_accepts_all() -> None:
    options = PrepareOptions(near_duplicate_max_color_difference=510)
    red, green = color_thumbnail(disc_on_white(RED_RGB)), color_thumbnail(disc_on_white(GREEN_RGB))
    difference = thumbnail_difference(red, green)

    assert difference <= options.near_duplicate_max_color_difference


def test_thumbnail_ignores_exposure_offset() -> None:
    # Halved contrast keeps values in 64..191, so a shift of 30 levels never clips.
    thumbnail = color_thumbnail(distinct_photos()[0]) // 2 + 64

    assert thumbnail_difference(thumbnail, thumbnail) == 0.0
    assert thumbnail_difference(thumbnail - 30, thumbnail + 30) == 0.0


def test_thumbnail_sees_channel_swap() -> None:
    thumbnail = color_thumbnail(disc_on_white(RED_RGB))
    swapped = thumbnail[:, :, ::-1].copy()

    assert thumbnail_difference(thumbnail, swapped) > PrepareOptions().near_duplicate_max_color_difference


def test_near_duplicate_kept_with_max_color() -> None:
    original = distinct_photos()[2]
    brighter = ImageEnhance.Brightness(original).enhance(1.04)
    difference = thumbnail_difference(color_thumbnail(original), color_thumbnail(brighter))

    assert difference <= PrepareOptions().near_duplicate_max_color_difference
