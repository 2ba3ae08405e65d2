"""Preparation of the real TrashNet photos: the counts of the report add up."""

from __future__ import annotations

from pathlib import Path

import pytest

from frugalclip_host.data.prepare import prepare_dataset


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
