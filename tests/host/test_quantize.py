"""Quantized and fp16 variants of the tiny model's ONNX graph, loaded with the device runtime.

The tiny CLIP has random weights, so its agreement with fp32 shows nothing about a real
model. These tests check that every variant loads, keeps the graph contract and is smaller.
"""

from __future__ import annotations

import dataclasses
import shutil
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
from frugalclip_host.onnx_export import export_onnx
from frugalclip_host.quantize import (
    VARIANTS,
    Calibration,
    Precision,
    classification_tail,
    parse_variants,
    quantize_variant,
    resolve_exclusions,
)
from frugalclip_host.quantize.static import ImageCalibrationReader, chunk_size
from frugalclip_host.weights_kind import WeightsKind

LABELS = ("astronaut", "cat", "coffee")


@pytest.fixture(scope="module")
def fp32_path(tiny_clip_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    clip = CLIPModel.from_pretrained(tiny_clip_dir)
    head = torch.nn.functional.normalize(torch.randn(3, clip.config.projection_dim, generator=torch.Generator().manual_seed(0)), dim=-1)
    classifier = ClipClassifier.from_clip(clip, list(LABELS), head, weights=WeightsKind.TINY_RANDOM_INIT)
    return export_onnx(classifier, tmp_path_factory.mktemp("fp32") / "model-fp32.onnx")


@pytest.fixture(scope="module")
def train_images(prepared_dir: Path) -> list[np.ndarray]:
    """The prepared folder's training crops (3 classes x 8), preprocessed with the device contract."""
    contract = PreprocessContract()
    return [preprocess_image(load_image_rgb(path), contract) for path in sorted((prepared_dir / "train").rglob("*.png"))]


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    from skimage import data

    contract = PreprocessContract()
    return np.stack([preprocess_image(Image.fromarray(photo), contract) for photo in (data.astronaut(), data.chelsea(), data.coffee())])


@pytest.fixture(scope="module")
def variant_outputs(fp32_path: Path, train_images: list[np.ndarray], tmp_path_factory: pytest.TempPathFactory) -> dict:
    out_dir = tmp_path_factory.mktemp("variants")
    return {name: quantize_variant(fp32_path, out_dir, spec, train_images) for name, spec in VARIANTS.items()}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variant_loads_in_device_session(variant_outputs: dict, photos: np.ndarray, name: str) -> None:
    path, _ = variant_outputs[name]
    probabilities = Classifier(path, PreprocessContract(), threads=1).predict(photos)
    assert probabilities.shape == (3, len(LABELS))
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-3)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variant_keeps_graph_contract(variant_outputs: dict, name: str) -> None:
    model = onnx.load(str(variant_outputs[name].path))
    assert model.graph.input[0].name == INPUT_NAME
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert model.graph.output[0].name == OUTPUT_NAME
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


@pytest.mark.parametrize("name", [name for name, spec in VARIANTS.items() if spec.precision is not Precision.FP16])
def test_int8_variant_smaller_than_half_fp32(variant_outputs: dict, fp32_path: Path, name: str) -> None:
    assert variant_outputs[name].path.stat().st_size < 0.5 * fp32_path.stat().st_size


def test_fp16_variant_smaller_than_fp32(variant_outputs: dict, fp32_path: Path) -> None:
    assert variant_outputs["fp16"].path.stat().st_size < 0.7 * fp32_path.stat().st_size


def test_variant_file_name(variant_outputs: dict) -> None:
    assert variant_outputs["int8-dynamic-pi5"].path.name == "model-int8-dynamic-pi5.onnx"


def test_variant_dir_has_only_models(variant_outputs: dict) -> None:
    folder = variant_outputs["fp16"].path.parent
    assert sorted(path.name for path in folder.iterdir()) == sorted(f"model-{name}.onnx" for name in VARIANTS)


def test_dynamic_variant_uses_integer_ops(variant_outputs: dict) -> None:
    op_types = {node.op_type for node in onnx.load(str(variant_outputs["int8-dynamic-pi5"].path)).graph.node}
    assert "MatMulInteger" in op_types
    assert "DynamicQuantizeLinear" in op_types


def test_static_variant_uses_qdq(variant_outputs: dict) -> None:
    op_types = {node.op_type for node in onnx.load(str(variant_outputs["int8-static-pi5"].path)).graph.node}
    assert "QuantizeLinear" in op_types
    assert "DequantizeLinear" in op_types


def test_x86_settings_reduce_range(variant_outputs: dict) -> None:
    assert variant_outputs["int8-dynamic-x86"].settings["reduce_range"] is True
    assert variant_outputs["int8-dynamic-pi5"].settings["reduce_range"] is False


def test_settings_name_target_and_types(variant_outputs: dict) -> None:
    settings = variant_outputs["int8-dynamic-pi4"].settings
    assert settings["target"] == "pi4"
    assert settings["weight_type"] == "int8"
    assert settings["per_channel"] is True
    assert settings["method"] == "dynamic"


def test_static_settings_record_calibration(variant_outputs: dict, train_images: list[np.ndarray]) -> None:
    calibration = variant_outputs["int8-static-pi5"].settings["calibration"]
    assert calibration == {"method": "minmax", "image_count": len(train_images)}


def test_static_settings_list_excluded_layernorms(variant_outputs: dict) -> None:
    excluded = variant_outputs["int8-static-pi5"].settings["excluded"]
    assert excluded["op_types"] == ["LayerNormalization"]
    assert sum("layer_norm" in name for name in excluded["nodes"]) == 6  # 2 layers x 2, pre- and post-layernorm


def test_head_excluded_by_default(variant_outputs: dict) -> None:
    nodes = variant_outputs["int8-dynamic-pi5"].settings["excluded"]["nodes"]
    assert "node_softmax" in nodes


def test_head_stays_float_in_dynamic_variant(variant_outputs: dict) -> None:
    model = onnx.load(str(variant_outputs["int8-dynamic-pi5"].path))
    softmax_inputs = {name for node in model.graph.node if node.op_type == "Softmax" for name in node.input}
    producers = {output: node.op_type for node in model.graph.node for output in node.output}
    assert {producers[name] for name in softmax_inputs if name in producers}.isdisjoint({"MatMulInteger", "DequantizeLinear"})


def test_classification_tail_starts_at_post_layernorm(fp32_path: Path) -> None:
    tail = classification_tail(onnx.load(str(fp32_path)))
    model = onnx.load(str(fp32_path))
    op_types = {node.name: node.op_type for node in model.graph.node}
    assert op_types[tail[0]] == "LayerNormalization"
    assert op_types[tail[-1]] == "Softmax"


def test_exclusion_pattern_matches_op_type(fp32_path: Path) -> None:
    model = onnx.load(str(fp32_path))
    exclusions = resolve_exclusions(model, exclude_head=False, exclude_patterns=("Conv",))
    assert [op for op in (node.op_type for node in model.graph.node if node.name in exclusions.nodes)] == ["Conv"]


def test_exclusion_pattern_matches_name_glob(fp32_path: Path) -> None:
    model = onnx.load(str(fp32_path))
    exclusions = resolve_exclusions(model, exclude_head=False, exclude_patterns=("node_layer_norm*",))
    assert len(exclusions.by_pattern) == 6


def test_exclusion_pattern_without_match_raises(fp32_path: Path) -> None:
    with pytest.raises(ValueError, match="no_such_node"):
        resolve_exclusions(onnx.load(str(fp32_path)), exclude_head=True, exclude_patterns=("no_such_node",))


def test_user_exclusions_appear_in_settings(fp32_path: Path, tmp_path: Path) -> None:
    spec = dataclasses.replace(VARIANTS["int8-dynamic-pi5"], exclude_patterns=("Conv",))
    _, settings = quantize_variant(fp32_path, tmp_path, spec)
    assert settings["excluded"]["patterns"] == ["Conv"]
    assert any("Conv" in name or "conv" in name.lower() for name in settings["excluded"]["nodes"])


def test_excluded_conv_stays_float(fp32_path: Path, tmp_path: Path) -> None:
    spec = dataclasses.replace(VARIANTS["int8-dynamic-pi5"], exclude_patterns=("Conv",))
    path, _ = quantize_variant(fp32_path, tmp_path, spec)
    op_types = [node.op_type for node in onnx.load(str(path)).graph.node]
    assert "Conv" in op_types
    assert "ConvInteger" not in op_types


def test_static_needs_calibration_images(fp32_path: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="calibration"):
        quantize_variant(fp32_path, tmp_path, VARIANTS["int8-static-pi5"], None)
    assert not (tmp_path / "model-int8-static-pi5.onnx").exists()


def test_static_calibration_reads_each_given_image(train_images: list[np.ndarray]) -> None:
    reader = ImageCalibrationReader(train_images[:5], 224)
    batches = list(reader)
    assert len(batches) == 5
    np.testing.assert_array_equal(batches[2][INPUT_NAME][0], train_images[2])


def test_static_calibration_rejects_wrong_size() -> None:
    with pytest.raises(ValueError, match="calibration image 0"):
        ImageCalibrationReader([np.zeros((100, 100, 3), dtype=np.uint8)], 224)


def test_static_calibration_depends_on_images(fp32_path: Path, train_images: list[np.ndarray], tmp_path: Path) -> None:
    """Calibrating on different images gives different activation scales, so the images are really used."""
    spec = VARIANTS["int8-static-pi5"]
    first, _ = quantize_variant(fp32_path, tmp_path / "first", spec, train_images[:4])
    dark = [np.full_like(image, 10) for image in train_images[:4]]
    second, _ = quantize_variant(fp32_path, tmp_path / "second", spec, dark)
    assert first.read_bytes() != second.read_bytes()


@pytest.mark.parametrize("method", list(Calibration))
def test_static_calibration_methods(fp32_path: Path, train_images: list[np.ndarray], photos: np.ndarray, tmp_path: Path, method: Calibration) -> None:
    spec = dataclasses.replace(VARIANTS["int8-static-pi5"], calibration=method)
    path, settings = quantize_variant(fp32_path, tmp_path, spec, train_images[:6])
    assert settings["calibration"]["method"] == method.value
    assert Classifier(path, PreprocessContract(), threads=1).predict(photos).shape == (3, len(LABELS))


def test_missing_fp32_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="to-onnx"):
        quantize_variant(tmp_path / "absent.onnx", tmp_path, VARIANTS["fp16"])


def test_parse_variants_keeps_order() -> None:
    assert [spec.name for spec in parse_variants("int8-dynamic-pi5, fp16")] == ["int8-dynamic-pi5", "fp16"]


def test_parse_variants_drops_repeats() -> None:
    assert [spec.name for spec in parse_variants("fp16,fp16")] == ["fp16"]


def test_parse_variants_unknown_lists_accepted() -> None:
    with pytest.raises(ValueError, match="int8-dynamic-pi5") as raised:
        parse_variants("fp16,int4-magic")
    assert "int4-magic" in str(raised.value)


def test_parse_variants_empty_raises() -> None:
    with pytest.raises(ValueError, match="empty"):
        parse_variants(" , ")


def test_quantize_does_not_touch_fp32(fp32_path: Path, tmp_path: Path) -> None:
    copy_path = tmp_path / "model-fp32.onnx"
    shutil.copy(fp32_path, copy_path)
    before = copy_path.read_bytes()
    quantize_variant(copy_path, tmp_path, VARIANTS["int8-dynamic-pi4"])
    assert copy_path.read_bytes() == before


@pytest.mark.parametrize(("image_count", "expected"), [(100, 5), (24, 8), (7, 7), (97, 1), (1, 1)])
def test_chunk_size_divides_count(image_count: int, expected: int) -> None:
    assert chunk_size(image_count) == expected


def test_static_calibration_uses_every_chunk(fp32_path: Path, train_images: list[np.ndarray], tmp_path: Path) -> None:
    """16 images run as 2 chunks of 8; changing only the first chunk changes the model."""
    spec = VARIANTS["int8-static-pi5"]
    images = train_images[:16]
    noise = [np.random.default_rng(index).integers(0, 256, image.shape, dtype=np.uint8) for index, image in enumerate(images[:8])]
    first, _ = quantize_variant(fp32_path, tmp_path / "first", spec, images)
    second, _ = quantize_variant(fp32_path, tmp_path / "second", spec, noise + images[8:])
    assert first.read_bytes() != second.read_bytes()
