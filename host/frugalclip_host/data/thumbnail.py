"""Colour thumbnails that confirm or reject a perceptual-hash match between two images.

imagehash.phash reads only the luma of a 32 x 32 downscale, so two different small objects on
the same plain background can have hashes a few bits apart. The confirming check compares
16 x 16 RGB thumbnails. Each channel of each thumbnail is shifted to zero mean, so a global
exposure or white-balance offset between two shots of one scene cancels out. The difference
of a cell is the largest absolute difference over its three channels, in 8-bit levels
(0..510, because each shifted value lies in -255..255). The difference of two images is the
99th percentile over the 256 cells. So an object that covers about 1 % of the frame or more
still counts, while the few cells that change when the camera moves slightly do not.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["THUMBNAIL_SIDE_PX", "color_thumbnail", "thumbnail_difference"]

THUMBNAIL_SIDE_PX = 16
_CELL_PERCENTILE = 99.0


def color_thumbnail(image: Image.Image) -> np.ndarray:
    """Return the image's THUMBNAIL_SIDE_PX x THUMBNAIL_SIDE_PX RGB thumbnail as uint8 (H, W, 3).

    The box filter averages every source pixel, so a re-encoded or resized copy yields nearly
    the same thumbnail. The thumbnail is square whatever the aspect ratio, so both images compared
    are squashed the same way.
    """
    side = THUMBNAIL_SIDE_PX
    return np.asarray(image.convert("RGB").resize((side, side), Image.Resampling.BOX), dtype=np.uint8)


def thumbnail_difference(first: np.ndarray, second: np.ndarray) -> float:
    """Return the difference of two thumbnails from :func:`color_thumbnail`, in 8-bit levels."""
    first_centered = first.astype(np.float32)
    second_centered = second.astype(np.float32)
    first_centered -= first_centered.mean(axis=(0, 1))
    second_centered -= second_centered.mean(axis=(0, 1))
    cell_difference = np.abs(first_centered - second_centered).max(axis=2)
    return float(np.percentile(cell_difference, _CELL_PERCENTILE))
