"""Training augmentation with PIL alone (torchvision is not a dependency of frugalclip).

Random resized crop, horizontal flip and colour jitter, driven by a NumPy generator so that
the same seed gives the same images whatever the number of processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageEnhance

__all__ = ["AugmentSettings", "augment_image"]


@dataclass(frozen=True)
class AugmentSettings:
    """Ranges of the random transforms; the defaults follow common CLIP fine-tuning recipes."""

    crop_scale: tuple[float, float] = (0.6, 1.0)  # fraction of the image area kept by the crop
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)  # width / height of the crop
    flip_probability: float = 0.5
    brightness: float = 0.2  # factor drawn in 1 ± brightness
    contrast: float = 0.2
    saturation: float = 0.2


def _random_crop_box(width: int, height: int, settings: AugmentSettings, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """Return (left, top, right, bottom) of a crop with random area and aspect ratio."""
    area = width * height
    log_ratio = (math.log(settings.crop_ratio[0]), math.log(settings.crop_ratio[1]))
    for _ in range(10):
        target_area = area * rng.uniform(*settings.crop_scale)
        ratio = math.exp(rng.uniform(*log_ratio))
        crop_width = int(round(math.sqrt(target_area * ratio)))
        crop_height = int(round(math.sqrt(target_area / ratio)))
        if 0 < crop_width <= width and 0 < crop_height <= height:
            left = int(rng.integers(0, width - crop_width + 1))
            top = int(rng.integers(0, height - crop_height + 1))
            return left, top, left + crop_width, top + crop_height

    # No sample fitted (very elongated image): take the largest centred square.
    side = min(width, height)
    left = (width - side) // 2
    top = (height - side) // 2
    return left, top, left + side, top + side


def augment_image(image: Image.Image, size_px: int, rng: np.random.Generator, settings: AugmentSettings = AugmentSettings()) -> Image.Image:
    """Return a randomly cropped, flipped and colour-jittered RGB copy of ``image``, ``size_px`` square."""
    image = image.convert("RGB")
    box = _random_crop_box(image.width, image.height, settings, rng)
    image = image.resize((size_px, size_px), Image.Resampling.BICUBIC, box=box)

    if rng.random() < settings.flip_probability:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)

    enhancers = [
        (ImageEnhance.Brightness, settings.brightness),
        (ImageEnhance.Contrast, settings.contrast),
        (ImageEnhance.Color, settings.saturation),
    ]
    for order in rng.permutation(len(enhancers)):
        enhancer, strength = enhancers[order]
        if strength > 0:
            image = enhancer(image).enhance(rng.uniform(1 - strength, 1 + strength))
    return image
