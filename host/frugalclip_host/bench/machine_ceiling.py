"""The machine's ceiling: ONNX Runtime's peak multiply-accumulate rate on large fp32 and int8 matrix products.

A model's achieved rate (its multiply-accumulates per image divided by its latency) as a
percentage of this peak shows how much of the CPU the runtime uses.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

__all__ = ["DEFAULT_MATRIX_SIDE", "measure_peak_gmacs"]

logger = logging.getLogger(__name__)

DEFAULT_MATRIX_SIDE = 1024  # 1024³ ≈ 1.07 G multiply-accumulates per product
_OPSET = 17


def _matmul_model(side: int, precision: str) -> onnx.ModelProto:
    """Return a graph computing A [side, side] x B [side, side] with B as a constant."""
    rng = np.random.default_rng(0)
    if precision == "fp32":
        weight = numpy_helper.from_array(rng.standard_normal((side, side)).astype(np.float32), "b")
        node = helper.make_node("MatMul", ["a", "b"], ["y"])
        input_type, output_type = TensorProto.FLOAT, TensorProto.FLOAT
    elif precision == "int8":
        # uint8 activations x int8 weights, the pair that dynamic quantization writes for x86 and ARM.
        weight = numpy_helper.from_array(rng.integers(-127, 128, (side, side), dtype=np.int8), "b")
        node = helper.make_node("MatMulInteger", ["a", "b"], ["y"])
        input_type, output_type = TensorProto.UINT8, TensorProto.INT32
    else:
        raise ValueError(f"unknown precision {precision!r}; expected fp32 or int8")
    graph = helper.make_graph(
        [node], f"peak_{precision}",
        [helper.make_tensor_value_info("a", input_type, [side, side])],
        [helper.make_tensor_value_info("y", output_type, [side, side])],
        [weight],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)])


def measure_peak_gmacs(precision: str, threads: int, *, side: int = DEFAULT_MATRIX_SIDE, repeats: int = 10) -> float:
    """Return the best rate in GMAC/s of ``repeats`` [side x side] products at ``threads`` threads."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(_matmul_model(side, precision).SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    if precision == "fp32":
        activations = rng.standard_normal((side, side)).astype(np.float32)
    else:
        activations = rng.integers(0, 256, (side, side), dtype=np.uint8)

    session.run(None, {"a": activations})  # warm-up: allocations and weight packing
    best_s = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        session.run(None, {"a": activations})
        best_s = min(best_s, time.perf_counter() - started)
    gmacs = side**3 / best_s / 1e9
    logger.info("peak %s matmul at %d threads: %.1f GMAC/s", precision, threads, gmacs)
    return gmacs
