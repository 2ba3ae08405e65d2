"""Multiply-accumulates per image of an ONNX graph, counted from its inferred tensor shapes.

Counts MatMul, Gemm and Conv and their quantized forms (MatMulInteger, QLinearMatMul,
ConvInteger, QLinearConv, DynamicQuantizeMatMul). Element-wise operations, softmax and
normalisation are left out, as in the usual "GMAC per image" figures, where ViT-B/32 at
224 px counts about 4.4 G.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
from onnx import shape_inference

__all__ = ["count_macs_per_image"]

logger = logging.getLogger(__name__)

_MATMUL_OPS = {"MatMul", "MatMulInteger", "DynamicQuantizeMatMul", "FusedMatMul"}
_QLINEAR_MATMUL_INPUTS = (0, 3)  # QLinearMatMul: a, a_scale, a_zero_point, b, ...
_CONV_OPS = {"Conv", "ConvInteger"}


def _fix_batch_to_one(model: onnx.ModelProto) -> None:
    for value in model.graph.input:
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_param") or dim.dim_value == 0:
                dim.ClearField("dim_param")
                dim.dim_value = 1


def _shapes(model: onnx.ModelProto) -> dict[str, list[int] | None]:
    shapes: dict[str, list[int] | None] = {}
    values = list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output)
    for value in values:
        dims = value.type.tensor_type.shape.dim
        known = [dim.dim_value if dim.HasField("dim_value") else None for dim in dims]
        shapes[value.name] = None if not dims or None in known else known
    for initializer in model.graph.initializer:
        shapes[initializer.name] = list(initializer.dims)
    return shapes


def count_macs_per_image(model_path: Path) -> int | None:
    """Return the multiply-accumulates for one image, or None when a counted node's shapes stay unknown."""
    model = onnx.load(str(model_path), load_external_data=False)
    _fix_batch_to_one(model)
    model = shape_inference.infer_shapes(model, data_prop=True)
    shapes = _shapes(model)

    total = 0
    for node in model.graph.node:
        if node.op_type in _MATMUL_OPS or node.op_type == "QLinearMatMul" or node.op_type == "Gemm":
            if node.op_type == "QLinearMatMul":
                a_name = node.input[_QLINEAR_MATMUL_INPUTS[0]]
            else:
                a_name = node.input[0]
            a_shape, out_shape = shapes.get(a_name), shapes.get(node.output[0])
            if a_shape is None or out_shape is None:
                logger.warning("shapes of %s node %s unknown: MAC count of %s not available", node.op_type, node.name, model_path)
                return None
            transposed_a = any(attribute.name == "transA" and attribute.i for attribute in node.attribute)
            inner = a_shape[0] if (node.op_type == "Gemm" and transposed_a) else a_shape[-1]
            total += int(np.prod(out_shape)) * inner
        elif node.op_type in _CONV_OPS or node.op_type == "QLinearConv":
            weight_name = node.input[3] if node.op_type == "QLinearConv" else node.input[1]
            weight_shape, out_shape = shapes.get(weight_name), shapes.get(node.output[0])
            if weight_shape is None or out_shape is None:
                logger.warning("shapes of %s node %s unknown: MAC count of %s not available", node.op_type, node.name, model_path)
                return None
            # Each output element sums over (input channels / groups) x kernel area.
            total += int(np.prod(out_shape)) * int(np.prod(weight_shape[1:]))
    return total
