"""Torch datasets of labelled image files, preprocessed by the CLIP image processor."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset
from transformers import CLIPImageProcessor

from .augment import AugmentSettings, augment_image
from .prepared_data import LabelledImage

__all__ = ["LabelledImageDataset", "load_rgb"]


def load_rgb(path) -> Image.Image:
    """Decode an image file as RGB; raise ValueError naming the file when it cannot be read."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError) as error:
        raise ValueError(f"cannot read image {path}: {error}; remove or replace the file") from error


class LabelledImageDataset(Dataset):
    """Items are (pixel_values float32 [3, S, S], label index).

    With ``augment``, each image is randomly cropped, flipped and colour-jittered before the
    processor's resize, crop, rescale and normalisation. The random draws depend only on
    (seed, epoch, index), so reruns, resumed runs and any number of processes see the same images.
    """

    def __init__(
        self,
        items: Sequence[LabelledImage],
        image_processor: CLIPImageProcessor,
        *,
        augment: bool = False,
        seed: int = 0,
        augment_settings: AugmentSettings = AugmentSettings(),
    ) -> None:
        self.items = list(items)
        self.image_processor = image_processor
        self.augment = augment
        self.seed = seed
        self.augment_settings = augment_settings
        self.epoch = 0  # set by the training loop before each epoch
        crop = image_processor.crop_size or {}
        self.image_size = int(crop.get("height", 224))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        item = self.items[index]
        image = load_rgb(item.path)
        if self.augment:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            image = augment_image(image, self.image_size, rng, self.augment_settings)
        pixels = self.image_processor(images=image, return_tensors="pt")["pixel_values"][0]
        return pixels, item.label_index
