"""Decode and resize images as the bundle's preprocessing contract specifies.

The steps match transformers' ``CLIPImageProcessor`` up to its rescale: convert to RGB,
resize the shortest side with Pillow's bicubic filter (the longer side is truncated to an
integer, as transformers does), then centre-crop with the top-left corner rounded down.
Rescaling and normalisation happen inside the ONNX graph.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .contract import PreprocessContract

__all__ = ["ImageDecodeError", "load_image_rgb", "preprocess_array", "preprocess_image", "resized_size"]

logger = logging.getLogger(__name__)

_RESAMPLING = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
}


class ImageDecodeError(ValueError):
    """An image file that cannot be read or decoded."""


def load_image_rgb(path: Path) -> Image.Image:
    """Decode an image file to RGB with its EXIF orientation applied."""
    try:
        with Image.open(path) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise ImageDecodeError(f"cannot decode image {path}: {error}") from error


def resized_size(width: int, height: int, shortest_edge: int) -> tuple[int, int]:
    """Return (width, height) after scaling the shortest side to ``shortest_edge`` pixels."""
    if width <= height:
        return shortest_edge, int(shortest_edge * height / width)
    return int(shortest_edge * width / height), shortest_edge


def preprocess_image(image: Image.Image, contract: PreprocessContract) -> np.ndarray:
    """Turn a PIL image into the graph's uint8 [S, S, 3] RGB input."""
    if contract.interpolation not in _RESAMPLING:
        raise ValueError(
            f"unknown interpolation {contract.interpolation!r} in the preprocessing contract; "
            f"expected one of {sorted(_RESAMPLING)}"
        )
    if image.mode != "RGB":
        image = image.convert("RGB")

    width, height = resized_size(image.width, image.height, contract.resize_shortest_edge)
    if (width, height) != image.size:
        image = image.resize((width, height), resample=_RESAMPLING[contract.interpolation], reducing_gap=None)

    size = contract.image_size
    left = (width - size) // 2
    top = (height - size) // 2
    if left < 0 or top < 0:
        raise ValueError(
            f"resize_shortest_edge={contract.resize_shortest_edge} is smaller than image_size={size}; "
            "the contract must resize at least to the crop size"
        )
    cropped = image.crop((left, top, left + size, top + size))
    return np.asarray(cropped, dtype=np.uint8)


def preprocess_array(frame: np.ndarray, contract: PreprocessContract) -> np.ndarray:
    """Preprocess an RGB uint8 [H, W, 3] frame, as produced by the frame sources."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 frame of shape [H, W, 3], got {frame.dtype} {frame.shape}")
    return preprocess_image(Image.fromarray(frame), contract)
