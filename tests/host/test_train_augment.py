"""PIL augmentation of fine-tuning: size, determinism and the flip."""

from __future__ import annotations

import numpy as np
from PIL import Image
from skimage import data

from frugalclip_host.train.augment import AugmentSettings, augment_image


def _photo() -> Image.Image:
    return Image.fromarray(data.chelsea())


def test_augment_output_size() -> None:
    image = augment_image(_photo(), 224, np.random.default_rng(0))
    assert image.size == (224, 224)
    assert image.mode == "RGB"


def test_augment_same_seed_same_image() -> None:
    first = augment_image(_photo(), 224, np.random.default_rng([3, 1, 7]))
    second = augment_image(_photo(), 224, np.random.default_rng([3, 1, 7]))
    assert np.array_equal(np.asarray(first), np.asarray(second))


def test_augment_other_seed_other_image() -> None:
    first = augment_image(_photo(), 224, np.random.default_rng(1))
    second = augment_image(_photo(), 224, np.random.default_rng(2))
    assert not np.array_equal(np.asarray(first), np.asarray(second))


def test_augment_flip_only_mirrors() -> None:
    settings = AugmentSettings(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), flip_probability=1.0, brightness=0, contrast=0, saturation=0)
    square = _photo().crop((0, 0, 300, 300))
    flipped = augment_image(square, 300, np.random.default_rng(0), settings)
    assert np.array_equal(np.asarray(flipped), np.asarray(square)[:, ::-1])
