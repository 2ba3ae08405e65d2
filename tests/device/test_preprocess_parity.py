"""Preprocessing parity with transformers' CLIPImageProcessor on real photos of several sizes.

The device's uint8 crop must equal the processor's output before rescaling, and the bundle
graph's normalisation must match the processor's normalised tensor within 1e-5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from bundle_factory import make_normalize_graph
from device_test_helpers import TRASHNET
from frugalclip_device.contract import PreprocessContract
from frugalclip_device.preprocess import load_image_rgb, preprocess_array, preprocess_image

transformers = pytest.importorskip("transformers")
skimage_data = pytest.importorskip("skimage.data")

CONTRACT = PreprocessContract()  # 224 px, bicubic shortest side, centre crop, as openai/clip-vit-base-patch32
NORMALIZED_TOLERANCE = 1e-5


def _photos() -> dict[str, Image.Image]:
    """Real photos with several sizes and aspect ratios, including upscaled and odd ones."""
    astronaut = Image.fromarray(skimage_data.astronaut())
    photos = {
        "astronaut 512x512": astronaut,
        "chelsea 451x300": Image.fromarray(skimage_data.chelsea()),
        "coffee 600x400": Image.fromarray(skimage_data.coffee()),
        "astronaut tall 97x401": astronaut.crop((200, 50, 297, 451)),
        "astronaut wide 511x123": astronaut.crop((0, 300, 511, 423)),
        "astronaut small 150x100": astronaut.resize((150, 100), Image.Resampling.LANCZOS),
        "lfw face 25x25 grey": Image.fromarray((skimage_data.lfw_subset()[0] * 255).astype(np.uint8)).convert("RGB"),
    }
    if TRASHNET.is_dir():
        for path in sorted(TRASHNET.glob("*/*.jpg"))[::500][:5]:
            photos[f"trashnet {path.parent.name}/{path.name}"] = load_image_rgb(path)
    return photos


PHOTOS = _photos()


@pytest.fixture(scope="module")
def processor():
    return transformers.CLIPImageProcessor()  # defaults: shortest edge 224, bicubic, centre crop 224, CLIP mean/std


@pytest.fixture(scope="module")
def normalize_session(tmp_path_factory: pytest.TempPathFactory) -> ort.InferenceSession:
    path = tmp_path_factory.mktemp("normalize") / "normalize.onnx"
    path.write_bytes(make_normalize_graph(CONTRACT).SerializeToString())
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_crop_matches_processor(processor, name: str) -> None:
    image = PHOTOS[name]
    expected = processor(images=image, do_rescale=False, do_normalize=False, return_tensors="np")["pixel_values"][0]
    actual = preprocess_image(image, CONTRACT)
    assert actual.shape == (224, 224, 3)
    assert np.array_equal(actual, expected.transpose(1, 2, 0).astype(np.uint8))


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_frame_path_matches_image_path(name: str) -> None:
    image = PHOTOS[name]
    assert np.array_equal(preprocess_array(np.asarray(image), CONTRACT), preprocess_image(image, CONTRACT))


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_graph_normalization_matches_processor(processor, normalize_session, name: str) -> None:
    image = PHOTOS[name]
    expected = processor(images=image, return_tensors="np")["pixel_values"]
    crop = preprocess_image(image, CONTRACT)[np.newaxis]
    (actual,) = normalize_session.run(["pixels"], {"image": crop})
    assert np.abs(actual - expected).max() <= NORMALIZED_TOLERANCE


def test_photo_set_has_several_shapes() -> None:
    shapes = {(image.width > image.height) - (image.width < image.height) for image in PHOTOS.values()}
    assert shapes == {-1, 0, 1}
