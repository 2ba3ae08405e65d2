"""Dynamic int8 quantization: int8 weights, activation scales computed per batch at run time."""

from __future__ import annotations

import logging
from pathlib import Path

from onnxruntime.quantization import quantize_dynamic

from .exclusions import Exclusions
from .presets import TargetPreset

__all__ = ["quantize_dynamic_variant"]

logger = logging.getLogger(__name__)


def quantize_dynamic_variant(
    preprocessed_path: Path, out_path: Path, preset: TargetPreset, exclusions: Exclusions
) -> dict:
    """Write the dynamically quantized model to ``out_path`` and return its settings for the manifest."""
    logger.info("dynamic int8 quantization for %s: %s -> %s", preset.target.value, preprocessed_path, out_path)
    quantize_dynamic(
        preprocessed_path,
        out_path,
        per_channel=preset.per_channel,
        reduce_range=preset.reduce_range,
        weight_type=preset.weight_type,
        nodes_to_exclude=exclusions.nodes,
        # Only GEMMs with a constant weight: attention's activation-by-activation MatMuls
        # would be u8 x u8, a slower kernel on x86 with no size gain.
        extra_options={"MatMulConstBOnly": True},
    )
    return {
        "method": "dynamic",
        "format": "QOperator (DynamicQuantizeLinear, MatMulInteger, ConvInteger)",
        "weight_type": "int8",
        "activation_type": "uint8, scale computed per batch at run time",
        "per_channel": preset.per_channel,
        "reduce_range": preset.reduce_range,
    }
