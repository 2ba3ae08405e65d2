"""Small real ONNX graphs and tinted photos for the verification and bundle-writer tests.

The graphs follow the bundle's graph contract (uint8 [batch, S, S, 3] in, softmax
probabilities out) but are not CLIP: they classify the mean colour of an image with a
3 x C weight matrix. That makes their accuracy on tinted photos known in advance, which is
what the budget-gate tests need.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

COLOUR_LABELS = ("red", "green", "blue")

# Per-channel gains that tint a photo towards one colour, in the order of COLOUR_LABELS.
_TINTS = {
    "red": (1.0, 0.25, 0.25),
    "green": (0.25, 1.0, 0.25),
    "blue": (0.25, 0.25, 1.0),
}


def write_colour_classifier(path: Path, weight: np.ndarray, *, opset: int = 17) -> Path:
    """Write a graph: uint8 image -> mean RGB in 0..1 -> matmul ``weight`` [3, C] -> softmax."""
    weight = np.asarray(weight, dtype=np.float32)
    nodes = [
        helper.make_node("Cast", ["image"], ["image_float"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["image_float"], ["mean_rgb"], axes=[1, 2], keepdims=0),
        helper.make_node("Mul", ["mean_rgb", "inverse_255"], ["mean_unit"]),
        helper.make_node("MatMul", ["mean_unit", "weight"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "colour-classifier",
        [helper.make_tensor_value_info("image", TensorProto.UINT8, ["batch", 224, 224, 3])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", weight.shape[1]])],
        initializer=[
            numpy_helper.from_array(weight, "weight"),
            numpy_helper.from_array(np.array(1.0 / 255.0, dtype=np.float32), "inverse_255"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    return path


def good_colour_weight() -> np.ndarray:
    """Return weights that predict the dominant channel: right on every tinted photo."""
    return 20.0 * np.eye(3, dtype=np.float32)


def confused_colour_weight() -> np.ndarray:
    """Return weights that swap green and blue: wrong on two thirds of the tinted photos."""
    return 20.0 * np.eye(3, dtype=np.float32)[:, [0, 2, 1]]


def write_tinted_photos(root: Path) -> list[tuple[Path, int]]:
    """Write scikit-image photos tinted red, green and blue; return (path, class index) pairs."""
    from skimage import data

    photos = (data.astronaut(), data.chelsea(), data.coffee())
    split = []
    for class_index, label in enumerate(COLOUR_LABELS):
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        for photo_index, photo in enumerate(photos):
            tinted = np.clip(photo.astype(np.float32) * np.array(_TINTS[label]), 0, 255).astype(np.uint8)
            image = Image.fromarray(tinted)
            image.thumbnail((300, 300))
            path = folder / f"{label}-{photo_index}.png"
            image.save(path)
            split.append((path, class_index))
    return split


def write_data_report(path: Path) -> Path:
    """Write a minimal data report JSON, standing in for the prepare step's report."""
    path.write_text(json.dumps({"classes": list(COLOUR_LABELS), "note": "test fixture"}) + "\n", encoding="utf-8")
    return path
