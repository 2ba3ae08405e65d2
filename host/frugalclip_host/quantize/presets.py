"""Named CPU targets for int8 quantization: Raspberry Pi 4, Raspberry Pi 5 and an x86 host.

Sources for the choices below, both opened when these presets were written:

- ONNX Runtime's quantization guide,
  https://onnxruntime.ai/docs/performance/model-optimizations/quantization.html
  (source: microsoft/onnxruntime docs/performance/model-optimizations/quantization.md).
  S8S8 in QDQ format is the first choice, and dynamic quantization is recommended for
  transformer models. On x86-64 with AVX2 or AVX-512 but without VNNI, U8S8 uses
  VPMADDUBSW, which can saturate. ``reduce_range`` (7-bit weights) avoids it and is also
  needed there with per-channel weights. "There is no such issue on other CPU
  architectures (x64 with VNNI and ARM)". ARM with dot-product instructions is where int8
  usually gets faster.
- MLAS kernel selection, microsoft/onnxruntime onnxruntime/core/mlas/lib/platform.cpp:
  on ARM64 without dot product, U8S8 and S8S8 GEMMs both run the same NEON kernel
  (``MlasGemmX8S8DispatchNeon``). With dot product, U8S8 runs the UDOT kernel and S8S8
  the SDOT kernel.
- ``quantize_static``'s docstring in onnxruntime 1.32 (onnxruntime/quantization/quantize.py):
  on ARM, symmetric int8 activations and weights; on x86-64, uint8 activations with int8
  weights, plus ``reduce_range`` when the CPU has no VNNI.

ONNX Runtime's dynamic quantization always produces uint8 activations (DynamicQuantizeLinear),
so a dynamic variant is U8S8 on every target. Signed int8 weights are used everywhere:
public reports show uint8 weights losing much more accuracy, for CLIP
(https://github.com/josephrocca/openai-clip-js/issues/3: quantize_dynamic with QUInt8
weights gave "noticeably worse" image embeddings) and for BERT
(https://github.com/microsoft/onnxruntime/issues/5644).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from onnxruntime.quantization import QuantType

__all__ = ["TARGET_PRESETS", "Target", "TargetPreset", "target_preset"]


class Target(str, Enum):
    """CPU a quantized variant is tuned for."""

    PI4 = "pi4"
    PI5 = "pi5"
    X86 = "x86"


@dataclass(frozen=True)
class TargetPreset:
    """Quantization settings for one CPU target."""

    target: Target
    cpu: str
    # ARMv8.2 SDOT/UDOT or x86 VNNI, known to be present: 8-bit products accumulate into
    # 32 bits in one instruction, which is what makes int8 GEMMs faster than fp32 ones.
    has_int8_dot_product: bool
    # Signed int8 weights (S8): uint8 weights degrade CLIP much more (see the module docstring).
    weight_type: QuantType
    # One scale per output channel: ViT weight ranges differ widely between channels, and
    # per-channel scales cost little compute.
    per_channel: bool
    # 7-bit weights, only to avoid VPMADDUBSW saturation on x86 without VNNI.
    reduce_range: bool
    # Activation type of static (QDQ) variants; dynamic ones always use uint8 activations.
    static_activation_type: QuantType


TARGET_PRESETS: dict[Target, TargetPreset] = {
    # No dot product: U8S8 and S8S8 share one NEON kernel, so int8 saves memory and
    # bandwidth (4x smaller weights) more than compute. NOTE: whether int8 is faster than
    # fp32 on a Pi 4 depends on the model; measure it with `frugalclip-device bench`.
    Target.PI4: TargetPreset(
        target=Target.PI4,
        cpu="Raspberry Pi 4, Cortex-A72 (ARMv8.0-A, no SDOT/UDOT)",
        has_int8_dot_product=False,
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=False,
        static_activation_type=QuantType.QInt8,
    ),
    # Dot product: dynamic U8S8 runs the UDOT kernel and static S8S8 the SDOT kernel.
    Target.PI5: TargetPreset(
        target=Target.PI5,
        cpu="Raspberry Pi 5, Cortex-A76 (ARMv8.2-A with SDOT/UDOT)",
        has_int8_dot_product=True,
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=False,
        static_activation_type=QuantType.QInt8,
    ),
    # A workstation may lack VNNI (AVX2-only or early AVX-512 parts), and per-channel
    # weights there need reduce_range, so this preset gives up one weight bit to be safe
    # on every x86-64 CPU.
    Target.X86: TargetPreset(
        target=Target.X86,
        cpu="x86-64 host with AVX2 or AVX-512, with or without VNNI",
        has_int8_dot_product=False,
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        static_activation_type=QuantType.QUInt8,
    ),
}


def target_preset(target: Target | str) -> TargetPreset:
    """Return the preset of ``target``, raising ValueError that lists the accepted names."""
    try:
        return TARGET_PRESETS[Target(target)]
    except ValueError:
        accepted = ", ".join(member.value for member in Target)
        raise ValueError(f"unknown quantization target {target!r}; expected one of: {accepted}") from None
