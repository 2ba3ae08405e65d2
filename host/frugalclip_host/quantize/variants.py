"""The named variants that `frugalclip quantize` can produce, and the parser of a variant list."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from onnxruntime.quantization import CalibrationMethod

from .presets import Target

__all__ = [
    "DEFAULT_VARIANTS",
    "VARIANTS",
    "Calibration",
    "Precision",
    "VariantSpec",
    "parse_variants",
]


class Precision(str, Enum):
    """Storage and compute precision of a variant."""

    FP16 = "fp16"
    INT8_DYNAMIC = "int8-dynamic"  # int8 weights; activation scales computed per batch at run time
    INT8_STATIC = "int8-static"  # int8 weights and activations; activation scales from calibration images


class Calibration(str, Enum):
    """Calibration method of static variants: how activation ranges are picked from calibration images."""

    MINMAX = "minmax"  # the full observed range
    ENTROPY = "entropy"  # the range that minimises KL divergence of the histogram
    PERCENTILE = "percentile"  # the 99.999th percentile of absolute values, dropping outliers

    def to_onnxruntime(self) -> CalibrationMethod:
        return {
            Calibration.MINMAX: CalibrationMethod.MinMax,
            Calibration.ENTROPY: CalibrationMethod.Entropy,
            Calibration.PERCENTILE: CalibrationMethod.Percentile,
        }[self]


@dataclass(frozen=True)
class VariantSpec:
    """One variant: its name (the `model-<name>.onnx` file), precision, target and exclusions."""

    name: str
    precision: Precision
    target: Target | None = None  # None for fp16, which has no CPU-specific setting
    calibration: Calibration = Calibration.MINMAX  # static variants only
    # Keep the classification tail in float: the vision tower's final LayerNormalization, the
    # projection, L2 normalisation, head and softmax. It is a few small GEMMs, and the head's
    # scaled logits are where a small error flips a class.
    exclude_head: bool = True
    # Op types left in float everywhere. Static variants keep LayerNormalization in float:
    # its inputs in ViTs carry a few outlier channels that a per-tensor int8 scale cannot hold.
    exclude_op_types: tuple[str, ...] = ()
    # Extra node-name globs or op types to leave in float, given by the user.
    exclude_patterns: tuple[str, ...] = field(default_factory=tuple)


VARIANTS: dict[str, VariantSpec] = {
    spec.name: spec
    for spec in (
        VariantSpec("fp16", Precision.FP16),
        VariantSpec("int8-dynamic-pi4", Precision.INT8_DYNAMIC, Target.PI4),
        VariantSpec("int8-dynamic-pi5", Precision.INT8_DYNAMIC, Target.PI5),
        VariantSpec("int8-dynamic-x86", Precision.INT8_DYNAMIC, Target.X86),
        VariantSpec(
            "int8-static-pi5",
            Precision.INT8_STATIC,
            Target.PI5,
            calibration=Calibration.MINMAX,
            exclude_op_types=("LayerNormalization",),
        ),
    )
}

# Static quantization needs calibration images, so the default list leaves it out.
DEFAULT_VARIANTS = ("fp16", "int8-dynamic-pi4", "int8-dynamic-pi5")


def parse_variants(text: str) -> list[VariantSpec]:
    """Parse a comma-separated list such as ``"fp16,int8-dynamic-pi5"``, keeping order and dropping repeats."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ValueError(f"empty variant list {text!r}; expected names from: {', '.join(VARIANTS)}")
    unknown = [name for name in names if name not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s) {', '.join(unknown)}; accepted names: {', '.join(VARIANTS)}")
    return [VARIANTS[name] for name in dict.fromkeys(names)]
