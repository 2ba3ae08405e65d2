"""Tests of the size reduction rule and its use in prepare_dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_fixtures import distinct_photos, write_photo_tree
from PIL import Image

from frugalclip_host.data.options import PrepareOptions
from frugalclip_host.data.prepare import prepare_dataset
from frugalclip_host.data.resize import reduced_size


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((4032, 3024), (512, 384)),  # phone photo: the longer side sets the scale
        ((3000, 600), (1120, 224)),  # panorama: the shorter side stops at the model input
        ((512, 384), (512, 384)),  # already within limits
        ((300, 200), (300, 200)),  # between the limits
        ((100, 80), (100, 80)),  # smaller than the input: never upscaled
        ((1000, 1000), (512, 512)),
        ((384, 4032), (224, 2352)),  # portrait panorama
    ],
)
def test_reduced_size_cases(size: tuple[int, int], expected: tuple[int, int]) -> None:
    assert reduced_size(size[0], size[1], max_side_px=512, min_side_px=224) == expected


def test_large_image_resized(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 4, "dog": 4})
    distinct_photos()[-8].resize((640, 480)).save(source / "cat" / "large.jpg", quality=95)
    options = PrepareOptions(max_side_px=128, min_side_px=32)
    prepared = prepare_dataset(source, tmp_path / "out", options)
    entry = next(entry for entry in prepared.report["changed"] if entry["path"] == "cat/large.jpg")

    assert Image.open(prepared.out_dir / entry["output"]).size == (128, 96)
    assert entry["output"].endswith("/large.png")
    assert [change["kind"] for change in entry["changes"]] == ["resized", "reencoded"]
