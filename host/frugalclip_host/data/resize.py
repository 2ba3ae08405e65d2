"""The size reduction rule: cap the longer side, never shrink the shorter side below the model input."""

from __future__ import annotations

import math

__all__ = ["reduced_size"]


def _round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))


def reduced_size(width_px: int, height_px: int, max_side_px: int, min_side_px: int) -> tuple[int, int]:
    """Return the (width, height) to resize to, equal to the input when no reduction applies.

    The scale is the larger of max_side_px / longer side and min_side_px / shorter side, so
    the shorter side stays at least min_side_px. A scale of 1 or more means no resize: images
    are never upscaled, so one whose shorter side is already below min_side_px keeps its size.
    """
    longer = max(width_px, height_px)
    shorter = min(width_px, height_px)
    scale = max(max_side_px / longer, min_side_px / shorter)
    if scale >= 1.0:
        return width_px, height_px

    new_width = max(1, _round_half_up(width_px * scale))
    new_height = max(1, _round_half_up(height_px * scale))
    # Rounding may lose a pixel on the shorter side; the model input size is the floor.
    if width_px <= height_px:
        new_width = max(new_width, min_side_px)
    else:
        new_height = max(new_height, min_side_px)
    return new_width, new_height
