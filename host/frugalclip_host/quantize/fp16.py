"""Half-precision variant: fp16 weights and compute, uint8 input and float32 output kept."""

from __future__ import annotations

import logging
from pathlib import Path

import onnx
from onnxruntime.transformers.float16 import convert_float_to_float16

__all__ = ["convert_to_fp16"]

logger = logging.getLogger(__name__)


def convert_to_fp16(fp32_path: Path, out_path: Path) -> dict:
    """Write the fp16 model to ``out_path`` and return its settings for the manifest.

    ``keep_io_types`` keeps the graph contract: uint8 ``image`` in, float32 ``probabilities`` out.
    """
    logger.info("fp16 conversion: %s -> %s", fp32_path, out_path)
    model = onnx.load(str(fp32_path))
    converted = convert_float_to_float16(model, keep_io_types=True)
    onnx.save(converted, str(out_path))
    return {"method": "fp16", "weight_type": "float16", "activation_type": "float16", "keep_io_types": True}
