"""Tests of the built-in demo dataset (scikit-image's LFW subset) and its preparation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data as skimage_data

from frugalclip_host.data.prepare import prepare_dataset
from frugalclip_host.demo_data import write_demo_dataset


def test_demo_counts_per_class(tmp_path: Path) -> None:
    root = write_demo_dataset(tmp_path / "demo")

    assert sorted(p.name for p in root.iterdir()) == ["face", "non-face"]
    assert len(list((root / "face").glob("*.png"))) == 100
    assert len(list((root / "non-face").glob("*.png"))) == 100


def test_demo_image_is_grey_25px(tmp_path: Path) -> None:
    root = write_demo_dataset(tmp_path / "demo")
    image = Image.open(root / "non-face" / "non-face-000.png")

    assert image.mode == "L"
    assert image.size == (25, 25)


def test_demo_order_matches_skimage(tmp_path: Path) -> None:
    root = write_demo_dataset(tmp_path / "demo")
    expected = np.rint(skimage_data.lfw_subset()[100] * 255).astype(np.uint8)

    assert np.array_equal(np.asarray(Image.open(root / "non-face" / "non-face-000.png")), expected)


def test_demo_prepares_all_images(tmp_path: Path) -> None:
    root = write_demo_dataset(tmp_path / "demo")
    report = prepare_dataset(root, tmp_path / "out").report

    assert report["counts"]["images_kept"] == 200
    assert report["counts"]["images_flagged"] == 200
