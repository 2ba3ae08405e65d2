"""Shared fixtures of the host tests: the tiny offline CLIP and a small prepared image folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from frugalclip_host.tiny_clip import build_tiny_clip

PREPARED_CLASSES = ("astronaut", "cat", "coffee")
PREPARED_SPLIT_COUNTS = {"train": 8, "val": 4, "test": 4}


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-init CLIP directory (224 px, patch 32, projection 32), built once per session."""
    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip") / "clip")


def _variant(photo: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Return a random crop of ``photo`` (RGB uint8), mirrored half of the time, with a little noise."""
    height, width = photo.shape[:2]
    crop_height = int(height * rng.uniform(0.6, 1.0))
    crop_width = int(width * rng.uniform(0.6, 1.0))
    top = int(rng.integers(0, height - crop_height + 1))
    left = int(rng.integers(0, width - crop_width + 1))
    crop = photo[top : top + crop_height, left : left + crop_width].astype(np.int16)
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    crop = crop + rng.integers(-8, 9, size=crop.shape)
    return Image.fromarray(np.clip(crop, 0, 255).astype(np.uint8), mode="RGB")


def write_prepared_folder(root: Path, seed: int = 0) -> Path:
    """Write ``root/{train,val,test}/<class>/*.png`` and ``root/classes.json`` from scikit-image photos."""
    from skimage import data

    photos = {"astronaut": data.astronaut(), "cat": data.chelsea(), "coffee": data.coffee()}
    rng = np.random.default_rng(seed)
    for split, count in PREPARED_SPLIT_COUNTS.items():
        for label in PREPARED_CLASSES:
            folder = root / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(count):
                image = _variant(photos[label], rng)
                image.thumbnail((256, 256))
                image.save(folder / f"{label}-{index:02d}.png")
    (root / "classes.json").write_text(json.dumps(list(PREPARED_CLASSES)) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def prepared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A prepared folder of 3 classes x (8 train, 4 val, 4 test) crops of scikit-image photos.

    Do not write into it: it is shared by the whole session. Copy it first.
    """
    return write_prepared_folder(tmp_path_factory.mktemp("prepared") / "prepared")
