"""Options of data preparation, with their units and the checks that reject invalid values."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from frugalclip_host.data.errors import DataError

__all__ = ["MAX_COLOR_DIFFERENCE", "PHASH_BITS", "PrepareOptions"]

# imagehash.phash with its default hash_size=8 yields an 8x8 bit DCT sign pattern.
PHASH_BITS = 64
# Largest possible difference of two colour thumbnails, in 8-bit levels: each thumbnail is
# shifted to zero mean, so a cell ranges over -255..255 and two cells differ by up to 510.
MAX_COLOR_DIFFERENCE = 510.0


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
    # A phash match counts only when the colour thumbnails of the two images also differ by at
    # most this, in 8-bit levels (0..510; see frugalclip_host.data.thumbnail); 510 accepts every
    # phash match. On TrashNet, retakes of one scene measure at most 52 and re-encoded or
    # half-size copies at most 6, while different small objects on the same white background
    # that phash links (metal159/plastic11, metal154/plastic10) measure 94 and 106.
    near_duplicate_max_color_difference: float = 64.0

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

        if not 0.0 <= self.near_duplicate_max_color_difference <= MAX_COLOR_DIFFERENCE:
            raise DataError(
                f"near_duplicate_max_color_difference must be in 0..{MAX_COLOR_DIFFERENCE:g} (8-bit levels), "
                f"got {self.near_duplicate_max_color_difference}."
            )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
