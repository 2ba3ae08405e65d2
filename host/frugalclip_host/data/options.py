"""Options of data preparation, with their units and the checks that reject invalid values."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from frugalclip_host.data.errors import DataError

__all__ = ["PHASH_BITS", "PrepareOptions"]

# imagehash.phash with its default hash_size=8 yields an 8x8 bit DCT sign pattern.
PHASH_BITS = 64


@dataclass(frozen=True)
class PrepareOptions:
    """Settings of :func:`frugalclip_host.data.prepare.prepare_dataset`.

    Sizes are in pixels. Fractions are of the images a class keeps after cleaning.
    """

    # Resize so the longer side is at most this, unless that would make the shorter side
    # smaller than min_side_px. Images are never upscaled.
    max_side_px: int = 512
    # The model's input size (CLIP: 224). Images whose shorter side is smaller are kept
    # and flagged, because CLIP's image processor upsamples them.
    min_side_px: int = 224
    # Keep at most this many images per class, chosen at random with `seed`; None keeps all.
    max_per_class: int | None = None
    # Minimum images a class must keep after cleaning. Each split also needs one image per class.
    min_per_class: int = 3
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    seed: int = 0
    # Two images are near duplicates when the Hamming distance between their 64-bit
    # perceptual hashes (imagehash.phash) is at most this; 0 matches identical hashes only.
    near_duplicate_max_distance: int = 4

    def __post_init__(self) -> None:
        self._check()

    def _check(self) -> None:
        if self.min_side_px < 1:
            raise DataError(f"min_side_px must be at least 1 pixel, got {self.min_side_px}.")
        if self.max_side_px < self.min_side_px:
            raise DataError(
                f"max_side_px ({self.max_side_px}) is smaller than min_side_px ({self.min_side_px}); "
                "set max_side_px to at least the model's input size."
            )
        if self.max_per_class is not None and self.max_per_class < 1:
            raise DataError(f"max_per_class must be at least 1 or None (keep all), got {self.max_per_class}.")
        if self.min_per_class < 1:
            raise DataError(f"min_per_class must be at least 1, got {self.min_per_class}.")
        for name in ("val_fraction", "test_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise DataError(f"{name} must be in [0, 1), got {value}.")
        if self.val_fraction + self.test_fraction >= 1.0:
            raise DataError(
                f"val_fraction + test_fraction is {self.val_fraction + self.test_fraction:g}, "
                "which leaves no training images; keep their sum below 1."
            )
        if not 0 <= self.near_duplicate_max_distance <= PHASH_BITS:
            raise DataError(
                f"near_duplicate_max_distance must be in 0..{PHASH_BITS} bits, "
                f"got {self.near_duplicate_max_distance}."
            )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
