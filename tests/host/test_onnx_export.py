"""ONNX export of the classifier: graph contract, parity with PyTorch on real photos, dynamic batch.

The tiny CLIP has random weights: these tests check that ONNX and PyTorch agree, never
that the predictions are right.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from PIL import Image
from transformers import CLIPModel

from frugalclip_device.contract import INPUT_NAME, OUTPUT_NAME, PreprocessContract
from frugalclip_device.preprocess import load_image_rgb, preprocess_image
from frugalclip_device.session import Classifier
from frugalclip_host.classifier import ClipClassifier
from frugalclip_host.onnx_export import (
    DEFAULT_PARITY_TOLERANCE,
    ExportParityError,
    check_parity,
    export_onnx,
)
from frugalclip_host.weights_kind import WeightsKind

LABELS = ("astronaut", "cat", "coffee")


def make_classifier(clip_dir: Path, labels=LABELS, seed: int = 0) -> ClipClassifier:
    """Build a classifier over ``labels`` from a CLIP directory, with a seeded random unit-norm head."""
    clip = CLIPModel.from_pretrained(clip_dir)
    generator = torch.Generator().manual_seed(seed)
    head = torch.nn.functional.normalize(torch.randn(len(labels), clip.config.projection_dim, generator=generator), dim=-1)
    return ClipClassifier.from_clip(clip, list(labels), head, weights=WeightsKind.TINY_RANDOM_INIT)


@pytest.fixture(scope="module")
def tiny_classifier(tiny_clip_dir: Path) -> ClipClassifier:
    return make_classifier(tiny_clip_dir)


@pytest.fixture(scope="module")
def exported_path(tiny_classifier: ClipClassifier, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx(tiny_classifier, tmp_path_factory.mktemp("export") / "model-fp32.onnx")


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    """scikit-image's astronaut, cat and coffee photos, preprocessed with the default contract."""
    from skimage import data

    contract = PreprocessContract()
    return [preprocess_image(Image.fromarray(photo), contract) for photo in (data.astronaut(), data.chelsea(), data.coffee())]


def _dims(value_info: onnx.ValueInfoProto) -> list:
    return [dim.dim_value if dim.HasField("dim_value") else dim.dim_param for dim in value_info.type.tensor_type.shape.dim]


def test_export_input_name_and_type(exported_path: Path) -> None:
    model = onnx.load(str(exported_path))
    assert [graph_input.name for graph_input in model.graph.input] == [INPUT_NAME]
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8


def test_export_input_shape_dynamic_batch(exported_path: Path) -> None:
    dims = _dims(onnx.load(str(exported_path)).graph.input[0])
    assert isinstance(dims[0], str)
    assert dims[1:] == [224, 224, 3]


def test_export_output_contract(exported_path: Path) -> None:
    model = onnx.load(str(exported_path))
    assert [graph_output.name for graph_output in model.graph.output] == [OUTPUT_NAME]
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert _dims(model.graph.output[0])[1] == len(LABELS)


def test_export_passes_onnx_checker(exported_path: Path) -> None:
    onnx.checker.check_model(str(exported_path), full_check=True)


def test_export_leaves_no_temporary_files(exported_path: Path) -> None:
    assert sorted(path.name for path in exported_path.parent.iterdir()) == [exported_path.name]


def test_parity_on_real_photos(tiny_classifier: ClipClassifier, exported_path: Path, photos: list[np.ndarray]) -> None:
    result = check_parity(tiny_classifier, exported_path, photos)
    assert result.max_abs_difference <= DEFAULT_PARITY_TOLERANCE
    assert result.image_count == 3
    assert result.top1_agreement == 1.0


def test_parity_detects_changed_head(tiny_classifier: ClipClassifier, exported_path: Path, photos: list[np.ndarray]) -> None:
    changed = copy.deepcopy(tiny_classifier)
    with torch.no_grad():
        changed.head.bias[0] += 1.0
    with pytest.raises(ExportParityError, match="tolerance") as raised:
        check_parity(changed, exported_path, photos)
    assert raised.value.result.max_abs_difference > DEFAULT_PARITY_TOLERANCE


def test_parity_rejects_wrong_image_size(tiny_classifier: ClipClassifier, exported_path: Path) -> None:
    with pytest.raises(ValueError, match="224"):
        check_parity(tiny_classifier, exported_path, [np.zeros((100, 100, 3), dtype=np.uint8)])


def test_batch_of_three_matches_single_images(exported_path: Path, photos: list[np.ndarray]) -> None:
    session = Classifier(exported_path, PreprocessContract())
    batch = session.predict(np.stack(photos))
    singles = np.concatenate([session.predict(photo) for photo in photos])
    assert batch.shape == (3, len(LABELS))
    np.testing.assert_allclose(batch, singles, atol=1e-6)


def test_probabilities_rows_sum_to_one(exported_path: Path, photos: list[np.ndarray]) -> None:
    probabilities = Classifier(exported_path, PreprocessContract()).predict(np.stack(photos))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_export_opset17_uses_torchscript(tiny_classifier: ClipClassifier, photos: list[np.ndarray], tmp_path: Path) -> None:
    path = export_onnx(tiny_classifier, tmp_path / "model-opset17.onnx", opset=17)
    opsets = {entry.domain: entry.version for entry in onnx.load(str(path)).opset_import}
    assert opsets[""] == 17
    assert check_parity(tiny_classifier, path, photos).passed


def test_export_rejects_old_opset(tiny_classifier: ClipClassifier, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="opset 9"):
        export_onnx(tiny_classifier, tmp_path / "old.onnx", opset=9)
    assert list(tmp_path.iterdir()) == []


def test_parity_on_trashnet(trashnet_dir: Path, tmp_path: Path) -> None:
    """Parity on real TrashNet photos, with a head over the six TrashNet classes."""
    from frugalclip_host.tiny_clip import build_tiny_clip

    labels = sorted(folder.name for folder in trashnet_dir.iterdir() if folder.is_dir())
    classifier = make_classifier(build_tiny_clip(tmp_path / "clip"), labels=labels, seed=1)
    path = export_onnx(classifier, tmp_path / "model-fp32.onnx")
    contract = PreprocessContract()
    paths = [sorted((trashnet_dir / label).glob("*.jpg"))[0] for label in labels]
    images = [preprocess_image(load_image_rgb(image_path), contract) for image_path in paths]
    assert check_parity(classifier, path, images).passed


@pytest.mark.slow
def test_export_random_vitb32(tmp_path: Path) -> None:
    """Full-size ViT-B/32 architecture with random weights: the export works and keeps every weight.

    Peaks near 2 GB of memory; the vision tower alone is about 350 MB of fp32 weights.
    """
    from frugalclip_host.tiny_clip import build_random_vitb32

    classifier = make_classifier(build_random_vitb32(tmp_path / "vitb32"), labels=("a", "b"))

    path = export_onnx(classifier, tmp_path / "model-fp32.onnx")
    assert path.stat().st_size > 300e6
    probabilities = Classifier(path, PreprocessContract(), threads=1).predict(np.zeros((1, 224, 224, 3), dtype=np.uint8))
    assert probabilities.shape == (1, 2)
