"""Quantized and half-precision variants of an exported model, with named CPU targets."""

from .exclusions import Exclusions, classification_tail, resolve_exclusions
from .presets import TARGET_PRESETS, Target, TargetPreset, target_preset
from .runner import QuantizedVariant, model_image_size, quantize_variant, variant_file_name
from .variants import DEFAULT_VARIANTS, VARIANTS, Calibration, Precision, VariantSpec, parse_variants

__all__ = [
    "DEFAULT_VARIANTS",
    "TARGET_PRESETS",
    "VARIANTS",
    "Calibration",
    "Exclusions",
    "Precision",
    "QuantizedVariant",
    "Target",
    "TargetPreset",
    "VariantSpec",
    "classification_tail",
    "model_image_size",
    "parse_variants",
    "quantize_variant",
    "resolve_exclusions",
    "target_preset",
    "variant_file_name",
]
