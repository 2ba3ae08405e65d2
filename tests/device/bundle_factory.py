"""Write a real, small frugalclip bundle without torch, for device tests and benchmarks.

The graph follows models/FORMAT.md: uint8 NHWC input ``image``, cast, rescale by 1/255,
CLIP mean and std, transpose to NCHW, an optional convolution (to make inference slow on
purpose), global average pooling, a linear layer and a softmax to ``probabilities``. Its
weights are random, so its predictions mean nothing, and the manifest records ``random``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from frugalclip_device.bundle_format import FORMAT_VERSION, LABELS_FILE, MANIFEST_FILE, sha256_file
from frugalclip_device.contract import PREPROCESS_FILE, PreprocessContract

__all__ = ["DEFAULT_LABELS", "make_bundle", "make_classifier_graph", "make_normalize_graph"]

DEFAULT_LABELS = ("cardboard", "glass", "metal")
OPSET = 17


def _normalize_nodes(contract: PreprocessContract) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """Nodes that turn ``image`` (uint8 NHWC) into the normalised float NCHW tensor ``pixels``."""
    mean = np.asarray(contract.mean, dtype=np.float32).reshape(1, 1, 1, 3)
    std = np.asarray(contract.std, dtype=np.float32).reshape(1, 1, 1, 3)
    initializers = [
        numpy_helper.from_array(np.asarray(255.0, dtype=np.float32), "scale_255"),
        numpy_helper.from_array(mean, "clip_mean"),
        numpy_helper.from_array(std, "clip_std"),
    ]
    nodes = [
        helper.make_node("Cast", [contract.input_name], ["image_f"], to=TensorProto.FLOAT),
        helper.make_node("Div", ["image_f", "scale_255"], ["image_01"]),
        helper.make_node("Sub", ["image_01", "clip_mean"], ["image_centred"]),
        helper.make_node("Div", ["image_centred", "clip_std"], ["image_nhwc"]),
        helper.make_node("Transpose", ["image_nhwc"], ["pixels"], perm=[0, 3, 1, 2]),
    ]
    return nodes, initializers


def _image_input(contract: PreprocessContract) -> onnx.ValueInfoProto:
    size = contract.image_size
    return helper.make_tensor_value_info(contract.input_name, TensorProto.UINT8, ["batch", size, size, 3])


def make_normalize_graph(contract: PreprocessContract) -> onnx.ModelProto:
    """Return a graph that outputs only the normalised NCHW tensor ``pixels``, for parity tests."""
    nodes, initializers = _normalize_nodes(contract)
    size = contract.image_size
    output = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["batch", 3, size, size])
    graph = helper.make_graph(nodes, "normalize", [_image_input(contract)], [output], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model)
    return model


def make_classifier_graph(
    contract: PreprocessContract, num_classes: int, *, conv_channels: int = 0, seed: int = 0
) -> onnx.ModelProto:
    """Return a random-weight classifier graph that follows the bundle's graph contract.

    ``conv_channels`` > 0 adds a 7x7 convolution with that many output channels, which makes
    inference cost grow with image_size² × conv_channels (a slow model for buffer tests).
    """
    rng = np.random.default_rng(seed)
    nodes, initializers = _normalize_nodes(contract)
    features_in, channels = "pixels", 3
    if conv_channels > 0:
        kernel = rng.normal(0.0, 0.1, size=(conv_channels, 3, 7, 7)).astype(np.float32)
        initializers.append(numpy_helper.from_array(kernel, "conv_weight"))
        nodes.append(helper.make_node("Conv", ["pixels", "conv_weight"], ["conv_out"], pads=[3, 3, 3, 3]))
        nodes.append(helper.make_node("Relu", ["conv_out"], ["conv_relu"]))
        features_in, channels = "conv_relu", conv_channels

    weight = rng.normal(0.0, 1.0, size=(channels, num_classes)).astype(np.float32)
    bias = rng.normal(0.0, 0.1, size=(num_classes,)).astype(np.float32)
    initializers += [numpy_helper.from_array(weight, "head_weight"), numpy_helper.from_array(bias, "head_bias")]
    nodes += [
        helper.make_node("GlobalAveragePool", [features_in], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["features"], axis=1),
        helper.make_node("MatMul", ["features", "head_weight"], ["logits_raw"]),
        helper.make_node("Add", ["logits_raw", "head_bias"], ["logits"]),
        helper.make_node("Softmax", ["logits"], [contract.output_name], axis=1),
    ]
    output = helper.make_tensor_value_info(contract.output_name, TensorProto.FLOAT, ["batch", num_classes])
    graph = helper.make_graph(nodes, "random_classifier", [_image_input(contract)], [output], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # readable by older ONNX Runtime releases too
    onnx.checker.check_model(model)
    return model


def make_bundle(
    directory: Path,
    *,
    labels: Sequence[str] = DEFAULT_LABELS,
    image_size: int = 32,
    resize_shortest_edge: int | None = None,
    variants: Sequence[str] = ("fp32",),
    conv_channels: int = 0,
    graph_classes: int | None = None,
    name: str | None = None,
    seed: int = 0,
) -> Path:
    """Write a complete bundle into ``directory`` (created) and return its path.

    Every variant gets the same fp32 graph under its own file name. ``graph_classes`` makes
    the graph output a different number of classes than ``labels`` (a broken bundle).
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    contract = PreprocessContract(image_size=image_size, resize_shortest_edge=resize_shortest_edge or image_size)
    contract.save(root / PREPROCESS_FILE)
    (root / LABELS_FILE).write_text(json.dumps(list(labels)) + "\n", encoding="utf-8")

    model = make_classifier_graph(contract, graph_classes or len(labels), conv_channels=conv_channels, seed=seed)
    variant_entries = {}
    for variant in variants:
        file_name = f"model-{variant}.onnx"
        onnx.save(model, root / file_name)
        variant_entries[variant] = {
            "file": file_name,
            "precision": "fp32",
            "quantization": None,
            "size_bytes": (root / file_name).stat().st_size,
            "metrics": {},
        }

    files = {path.name: sha256_file(path) for path in sorted(root.iterdir()) if path.name != MANIFEST_FILE}
    manifest = {
        "format_version": FORMAT_VERSION,
        "name": name or root.name,
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "default_variant": variants[0],
        "labels": list(labels),
        "source_model": {"id": "tests/bundle_factory", "revision": None, "weights": "random"},
        "training": None,
        "variants": variant_entries,
        "files": files,
        "libraries": {"onnx": onnx.__version__},
    }
    (root / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return root
