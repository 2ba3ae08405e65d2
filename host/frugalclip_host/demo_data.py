"""The built-in demo dataset: 200 real photos shipped with scikit-image, so the pipeline runs offline.

``skimage.data.lfw_subset()`` (scikit-image 0.26) returns 200 greyscale crops of 25 x 25 pixels
from the Labeled Faces in the Wild dataset. Its docstring states that the first 100 are faces
and the other 100 are non-faces cut from the backgrounds of the same photos. They are tiny and
greyscale, so a model trained on them says little about real use. They are the default because
model hubs and dataset downloads may be unreachable, and these ship inside an installed package.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PIL import Image
from skimage import data as skimage_data
from skimage.util import img_as_ubyte

__all__ = ["DEMO_CLASSES", "DEMO_IMAGES_PER_CLASS", "write_demo_dataset"]

logger = logging.getLogger(__name__)

DEMO_CLASSES = ("face", "non-face")
DEMO_IMAGES_PER_CLASS = 100


def write_demo_dataset(out_dir: Path) -> Path:
    """Write the demo ImageFolder tree out_dir/{face,non-face}/<class>-NNN.png and return out_dir.

    Existing files of the same names are overwritten; the images are 25 x 25 greyscale PNGs.
    """
    out_dir = Path(out_dir)
    images = img_as_ubyte(skimage_data.lfw_subset())  # float 0..1 -> uint8, shape (200, 25, 25)
    expected = len(DEMO_CLASSES) * DEMO_IMAGES_PER_CLASS
    if images.shape[0] != expected:
        raise RuntimeError(
            f"skimage.data.lfw_subset() returned {images.shape[0]} images, expected {expected}; "
            "install scikit-image==0.26.0."
        )

    for class_position, class_name in enumerate(DEMO_CLASSES):
        class_dir = out_dir / class_name
        class_dir.mkdir(parents=True, exist_ok=True)
        start = class_position * DEMO_IMAGES_PER_CLASS
        for number in range(DEMO_IMAGES_PER_CLASS):
            Image.fromarray(images[start + number]).save(class_dir / f"{class_name}-{number:03d}.png")

    logger.info("wrote %d demo images (%s) to %s", expected, ", ".join(DEMO_CLASSES), out_dir)
    return out_dir
