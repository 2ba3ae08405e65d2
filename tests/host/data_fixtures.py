"""Helpers for the prepare tests: distinct real photos and deliberately broken image files."""

from __future__ import annotations

import hashlib
import io
from functools import cache
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image
from skimage import data as skimage_data

from frugalclip_host.data.options import PrepareOptions

# Small sizes keep the tests fast; the resize rule itself is tested with its own values.
SMALL_OPTIONS = PrepareOptions(max_side_px=64, min_side_px=32)
PHOTO_SIZE_PX = (64, 48)  # (width, height)
# Photos from distinct_photos() differ in more bits than this, far above the default threshold of 4.
MIN_DISTINCT_BITS = 12


@cache
def distinct_photos(count: int = 40) -> tuple[Image.Image, ...]:
    """Return RGB crops of scikit-image's bundled photos whose perceptual hashes are far apart."""
    sources = [skimage_data.astronaut(), skimage_data.coffee(), skimage_data.chelsea(), skimage_data.rocket()]
    kept: list[Image.Image] = []
    hashes: list[int] = []
    for pixels in sources:
        height, width = pixels.shape[:2]
        for top in range(0, height - 120, 60):
            for left in range(0, width - 160, 80):
                crop = Image.fromarray(pixels[top : top + 120, left : left + 160]).resize(PHOTO_SIZE_PX)
                value = int(str(imagehash.phash(crop)), 16)
                if all(bin(value ^ other).count("1") > MIN_DISTINCT_BITS for other in hashes):
                    kept.append(crop)
                    hashes.append(value)
                if len(kept) == count:
                    return tuple(kept)
    raise RuntimeError(f"only {len(kept)} distinct crops found, {count} requested")


def write_photo_tree(root: Path, counts: dict[str, int], offset: int = 0) -> dict[str, list[Path]]:
    """Write counts[class] distinct JPEG photos into root/<class>/; return the paths by class."""
    photos = distinct_photos()
    written: dict[str, list[Path]] = {}
    position = offset
    for class_name, count in counts.items():
        class_dir = root / class_name
        class_dir.mkdir(parents=True, exist_ok=True)
        written[class_name] = []
        for number in range(count):
            path = class_dir / f"{class_name}-{number:02d}.jpg"
            photos[position].save(path, quality=95)
            written[class_name].append(path)
            position += 1
    return written


def tree_hashes(root: Path) -> dict[str, str]:
    """Return relative path -> SHA-256 of every file below root."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def write_truncated_jpeg(path: Path) -> None:
    buffer = io.BytesIO()
    distinct_photos()[-1].save(buffer, format="JPEG", quality=95)
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])


def write_exif_rotated_jpeg(path: Path, orientation: int = 6) -> None:
    """Write a 64 x 32 px JPEG with an EXIF Orientation tag that requires a rotation."""
    image = distinct_photos()[-2].resize((64, 32))
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.save(path, exif=exif, quality=95)


def write_cmyk_jpeg(path: Path) -> None:
    distinct_photos()[-3].convert("CMYK").save(path, quality=95)


def write_mode_png(path: Path, mode: str) -> None:
    """Write a photo converted to a Pillow mode such as "L", "P", "LA" or "RGBA"."""
    distinct_photos()[-4].convert(mode).save(path)


def write_transparent_png(path: Path) -> None:
    """Write an RGBA photo whose left half is fully transparent."""
    image = distinct_photos()[-5].convert("RGBA")
    pixels = np.array(image)
    pixels[:, : pixels.shape[1] // 2, 3] = 0
    Image.fromarray(pixels).save(path)


def write_16bit_png(path: Path) -> None:
    """Write a 16-bit greyscale PNG: a photo's luma scaled to 0..65535, top-left pixel 65535."""
    luma = np.asarray(distinct_photos()[-6].convert("L"), dtype=np.uint32) * 257
    luma[0, 0] = 65535
    Image.fromarray(luma.astype(np.uint16)).save(path)


# Red and green with equal luma (ITU-R 601, as Pillow's "L" conversion), so phash, which reads
# only luma, cannot tell them apart.
RED_RGB = (200, 40, 40)
GREEN_RGB = (40, 122, 40)


def disc_on_white(color_rgb: tuple[int, int, int], size_px: tuple[int, int] = PHOTO_SIZE_PX) -> Image.Image:
    """Return a photo-like scene: a coloured disc on a light background with shading and noise.

    The disc covers about 10 % of the frame, like a small object shot on a plain table.
    """
    width, height = size_px
    rows, columns = np.mgrid[0:height, 0:width]
    shading = 235.0 - 20.0 * rows / height - 10.0 * columns / width
    noise = np.random.default_rng(7).normal(0.0, 2.0, size=(height, width))
    pixels = np.repeat((shading + noise)[:, :, None], 3, axis=2)
    radius = 0.16 * width
    inside = (rows - height / 2) ** 2 + (columns - width / 2) ** 2 <= radius**2
    pixels[inside] = color_rgb
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB")


def write_resized_copy(original: Path, copy: Path, scale: float = 0.75, quality: int = 70) -> None:
    """Write a downscaled JPEG copy at a lower quality: other pixels and size, same picture."""
    image = Image.open(original).convert("RGB")
    size = (round(image.width * scale), round(image.height * scale))
    image.resize(size, Image.Resampling.BICUBIC).save(copy, quality=quality)
