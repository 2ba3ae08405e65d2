"""Tests of the split, class cap, output folder and source safety of prepare_dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_fixtures import SMALL_OPTIONS, tree_hashes, write_photo_tree

from frugalclip_host.data.options import PrepareOptions
from frugalclip_host.data.prepare import DataError, prepare_dataset
from frugalclip_host.data.split import Split, split_class_groups, split_targets


def _relative_splits(prepared) -> dict[str, list[str]]:
    return {
        split: [path.relative_to(prepared.out_dir).as_posix() for path, _ in entries]
        for split, entries in prepared.splits.items()
    }


def test_split_same_seed_same_result(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 12, "dog": 12})
    first = prepare_dataset(source, tmp_path / "first", SMALL_OPTIONS)
    second = prepare_dataset(source, tmp_path / "second", SMALL_OPTIONS)

    assert _relative_splits(first) == _relative_splits(second)
    assert first.report["digest"] == second.report["digest"]


def test_split_other_seed_differs(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 12, "dog": 12})
    first = prepare_dataset(source, tmp_path / "first", SMALL_OPTIONS)
    other = PrepareOptions(max_side_px=64, min_side_px=32, seed=1)
    second = prepare_dataset(source, tmp_path / "second", other)

    assert _relative_splits(first) != _relative_splits(second)


def test_split_stratified_counts(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 20, "dog": 10})
    prepared = prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS)
    per_split = prepared.report["counts"]["per_split"]

    assert per_split["test"] == {"cat": 3, "dog": 2}
    assert per_split["val"] == {"cat": 3, "dog": 2}
    assert per_split["train"] == {"cat": 14, "dog": 6}


def test_split_labels_match_folders(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 5, "dog": 5})
    prepared = prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS)
    classes_file = json.loads((prepared.out_dir / "classes.json").read_text(encoding="utf-8"))

    assert classes_file == ["cat", "dog"]
    for split, entries in prepared.splits.items():
        for path, class_index in entries:
            assert path.parent.name == prepared.classes[class_index], f"{path} in {split}"
            assert path.parent.parent.name == split, str(path)


def test_source_unchanged(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 5, "dog": 5})
    (source / "cat" / "broken.jpg").write_bytes(b"\xff\xd8\xff")
    before = tree_hashes(source)
    prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS)

    assert tree_hashes(source) == before


def test_class_cap_drops_extra(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 10, "dog": 5})
    options = PrepareOptions(max_side_px=64, min_side_px=32, max_per_class=6)
    report = prepare_dataset(source, tmp_path / "out", options).report
    capped = [entry for entry in report["dropped"] if entry["reason"] == "over_class_cap"]

    assert report["counts"]["per_class_after"] == {"cat": 6, "dog": 5}
    assert len(capped) == 4


def test_rerun_replaces_output(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 5, "dog": 5})
    prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS)
    (source / "dog" / "dog-04.jpg").unlink()
    prepared = prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS)

    assert len(list((tmp_path / "out").rglob("*.jpg"))) == 9
    assert prepared.report["counts"]["images_kept"] == 9


def test_foreign_output_folder_rejected(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 5, "dog": 5})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.tex").write_text("keep me\n")

    with pytest.raises(DataError, match="not empty"):
        prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS)
    assert (tmp_path / "out" / "thesis.tex").read_text() == "keep me\n"


def test_output_inside_source_rejected(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 5, "dog": 5})

    with pytest.raises(DataError, match="inside the source folder"):
        prepare_dataset(source, source / "prepared", SMALL_OPTIONS)


def test_targets_at_least_one() -> None:
    assert split_targets(3, 0.15, 0.15) == {Split.VAL: 1, Split.TEST: 1, Split.TRAIN: 1}


def test_targets_zero_fraction_empty() -> None:
    assert split_targets(10, 0.2, 0.0) == {Split.VAL: 2, Split.TEST: 0, Split.TRAIN: 8}


@pytest.mark.parametrize("seed", range(5))
def test_groups_never_divided(seed: int) -> None:
    groups = [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9], [10]]
    assignment = split_class_groups(groups, 0.15, 0.15, seed, "cat")
    where = {index: split for split, indices in assignment.items() for index in indices}

    for group in groups:
        assert len({where[index] for index in group}) == 1, f"group {group} divided: {assignment}"
    for split in Split:
        assert assignment[split], f"{split.value} empty: {assignment}"
