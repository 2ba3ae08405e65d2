"""Preparation of the real TrashNet photos: the counts add up, and near duplicates are measured on real pairs."""

from __future__ import annotations

from pathlib import Path

import imagehash
import pytest

from frugalclip_host.data.clean import clean_image
from frugalclip_host.data.options import PrepareOptions
from frugalclip_host.data.prepare import prepare_dataset
from frugalclip_host.data.thumbnail import color_thumbnail, thumbnail_difference

DEFAULTS = PrepareOptions()
# Different small objects on the same white background whose phashes are at most 4 bits apart.
LOOK_ALIKE_PAIRS = [("metal/metal159.jpg", "plastic/plastic11.jpg"), ("metal/metal154.jpg", "plastic/plastic10.jpg")]
# Retakes of one scene with a moved camera or other exposure. Among the phash matches at 4 bits
# that show one scene, the last pair has the largest colour difference.
RETAKE_PAIRS = [
    ("paper/paper457.jpg", "paper/paper553.jpg"),
    ("cardboard/cardboard386.jpg", "cardboard/cardboard72.jpg"),
    ("paper/paper474.jpg", "paper/paper89.jpg"),
]


def _measure(trashnet_dir: Path, first: str, second: str) -> tuple[int, float]:
    """Return the phash distance in bits and the colour difference of two cleaned TrashNet photos."""
    images = [
        clean_image(trashnet_dir / name, DEFAULTS.max_side_px, DEFAULTS.min_side_px).image for name in (first, second)
    ]
    distance = imagehash.phash(images[0]) - imagehash.phash(images[1])
    return distance, thumbnail_difference(color_thumbnail(images[0]), color_thumbnail(images[1]))


@pytest.mark.parametrize(("first", "second"), LOOK_ALIKE_PAIRS)
def test_trashnet_look_alikes_rejected(trashnet_dir: Path, first: str, second: str) -> None:
    distance, difference = _measure(trashnet_dir, first, second)

    assert distance <= DEFAULTS.near_duplicate_max_distance, f"precondition: phash distance {distance}"
    assert difference > DEFAULTS.near_duplicate_max_color_difference


@pytest.mark.parametrize(("first", "second"), RETAKE_PAIRS)
def test_trashnet_retakes_confirmed(trashnet_dir: Path, first: str, second: str) -> None:
    distance, difference = _measure(trashnet_dir, first, second)

    assert distance <= DEFAULTS.near_duplicate_max_distance, f"precondition: phash distance {distance}"
    assert difference <= DEFAULTS.near_duplicate_max_color_difference


@pytest.mark.slow
def test_trashnet_counts_add_up(trashnet_dir: Path, tmp_path: Path) -> None:
    prepared = prepare_dataset(trashnet_dir, tmp_path / "out")
    counts = prepared.report["counts"]
    dropped_per_class = {name: 0 for name in prepared.classes}
    for entry in prepared.report["dropped"]:
        if entry["class"] is not None:
            dropped_per_class[entry["class"]] += 1
    files_on_disk = len(list((tmp_path / "out").glob("*/*/*.*")))

    assert prepared.classes == ["cardboard", "glass", "metal", "paper", "plastic", "trash"]
    assert counts["files_found"] == counts["images_kept"] + counts["files_dropped"]
    for name in prepared.classes:
        assert counts["per_class_before"][name] == counts["per_class_after"][name] + dropped_per_class[name], name
        assert sum(counts["per_split"][split][name] for split in ("train", "val", "test")) == counts[
            "per_class_after"
        ][name], name
    assert sum(len(entries) for entries in prepared.splits.values()) == counts["images_kept"]
    assert files_on_disk == counts["images_kept"]
    assert all(entry["reason"] != "undecodable" for entry in prepared.report["dropped"])
    conflicting = {entry["path"] for entry in prepared.report["dropped"] if entry["reason"] == "label_conflict"}
    for pair in LOOK_ALIKE_PAIRS:
        assert conflicting.isdisjoint(pair), pair
