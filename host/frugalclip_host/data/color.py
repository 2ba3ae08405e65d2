"""Conversion of any Pillow image mode to 8-bit RGB, the only mode the model reads."""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["ALPHA_BACKGROUND_RGB", "convert_to_rgb"]

# Transparent pixels become this colour: most product and object photos are shot on white.
ALPHA_BACKGROUND_RGB = (255, 255, 255)

_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
_SIXTEEN_BIT_MAX = 65535


def convert_to_rgb(image: Image.Image) -> tuple[Image.Image, str | None]:
    """Return the image in RGB mode and a description of the conversion, or None if it was RGB.

    Alpha is composited on white. 16-bit greyscale (I;16) and 32-bit integer (I) values are
    read as 0..65535 and scaled to 0..255. CMYK uses Pillow's conversion, which ignores any
    embedded ICC profile.
    """
    mode = image.mode
    has_transparency_key = "transparency" in image.info

    if mode == "RGB" and not has_transparency_key:
        return image, None

    if mode in _ALPHA_MODES or has_transparency_key:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*ALPHA_BACKGROUND_RGB, 255))
        background.alpha_composite(rgba)
        return background.convert("RGB"), f"{mode} -> RGB, transparency composited on white"

    if mode in _SIXTEEN_BIT_MODES:
        values = np.asarray(image, dtype=np.float64)
        scaled = np.clip(np.rint(values * 255.0 / _SIXTEEN_BIT_MAX), 0, 255).astype(np.uint8)
        return Image.fromarray(scaled).convert("RGB"), f"{mode} -> RGB, 16-bit values scaled to 8-bit"

    return image.convert("RGB"), f"{mode} -> RGB"
