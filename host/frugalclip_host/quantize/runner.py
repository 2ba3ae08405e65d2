"""Produce one quantized or half-precision variant of an exported fp32 model."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import onnx
import onnxruntime
from onnxruntime.quantization.shape_inference import quant_pre_process

from .dynamic import quantize_dynamic_variant
from .exclusions import resolve_exclusions
from .fp16 import convert_to_fp16
from .presets import target_preset
from .static import quantize_static_variant
from .variants import Precision, VariantSpec

__all__ = ["QuantizedVariant", "model_image_size", "quantize_variant", "variant_file_name"]

logger = logging.getLogger(__name__)


class QuantizedVariant(NamedTuple):
    """The written model file and the settings that produced it, for the bundle manifest."""

    path: Path
    settings: dict


def variant_file_name(name: str) -> str:
    """Return the bundle file name of a variant, e.g. ``model-int8-dynamic-pi5.onnx``."""
    return f"model-{name}.onnx"


def model_image_size(model: onnx.ModelProto) -> int:
    """Return S of the graph's uint8 [batch, S, S, 3] input, raising ValueError when it is not square and fixed."""
    dims = model.graph.input[0].type.tensor_type.shape.dim
    values = [dim.dim_value if dim.HasField("dim_value") else None for dim in dims]
    if len(values) != 4 or values[1] is None or values[1] != values[2] or values[3] != 3:
        raise ValueError(f"model input has shape {values}, expected [batch, S, S, 3] with a fixed S")
    return int(values[1])


class _OnnxRuntimeToDebug(logging.Filter):
    """Move the quantization tools' messages, logged on the root logger, to this module's debug log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "onnxruntime" not in record.pathname:
            return True
        logger.debug("onnxruntime: %s", record.getMessage())
        return False


@contextlib.contextmanager
def _onnxruntime_output_to_debug_log() -> Iterator[None]:
    """Send ONNX Runtime's per-tensor warnings and printed progress to the debug log.

    They are routine for this graph (for example "Inference failed or unsupported type to
    quantize for tensor 'image'": the uint8 input is not meant to be quantized).
    """
    root = logging.getLogger()
    log_filter = _OnnxRuntimeToDebug()
    printed = io.StringIO()
    root.addFilter(log_filter)
    try:
        with contextlib.redirect_stdout(printed):
            yield
    finally:
        root.removeFilter(log_filter)
        for line in printed.getvalue().splitlines():
            logger.debug("onnxruntime: %s", line)


def _preprocess(fp32_path: Path, out_path: Path) -> None:
    # Symbolic shape inference fails on the dynamo exporter's graphs (onnxruntime 1.32 raises
    # TypeError on a value whose shape it cannot read), so only ORT's optimizer and ONNX shape
    # inference run.
    quant_pre_process(str(fp32_path), str(out_path), skip_symbolic_shape=True)


def quantize_variant(
    fp32_path: Path,
    out_dir: Path,
    spec: VariantSpec,
    calibration_images: Sequence[np.ndarray] | None = None,
) -> QuantizedVariant:
    """Write ``out_dir/model-<spec.name>.onnx`` from the exported fp32 model and return it with its settings.

    int8 variants are quantized from the pre-processed model (ONNX Runtime's optimizer and
    shape inference). ``calibration_images`` (uint8 [S, S, 3], device-preprocessed) are
    used by static variants only. The output appears only once it is complete.
    """
    fp32_path = Path(fp32_path)
    if not fp32_path.is_file():
        raise FileNotFoundError(f"fp32 model not found: {fp32_path}; export it first with `frugalclip to-onnx`")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    out_path = out_dir / variant_file_name(spec.name)
    if out_path.resolve() == fp32_path.resolve():
        raise ValueError(f"variant {spec.name} would overwrite its own input {fp32_path}; choose another --out folder")

    settings: dict = {"variant": spec.name, "precision": spec.precision.value}
    with (
        tempfile.TemporaryDirectory(prefix=f"frugalclip-{spec.name}-", dir=out_dir) as scratch,
        _onnxruntime_output_to_debug_log(),
    ):
        scratch_path = Path(scratch)
        written = scratch_path / out_path.name

        if spec.precision is Precision.FP16:
            settings.update(convert_to_fp16(fp32_path, written))
        else:
            preset = target_preset(spec.target)
            preprocessed = scratch_path / "preprocessed.onnx"
            _preprocess(fp32_path, preprocessed)
            model = onnx.load(str(preprocessed))
            exclusions = resolve_exclusions(
                model,
                exclude_head=spec.exclude_head,
                exclude_op_types=spec.exclude_op_types,
                exclude_patterns=spec.exclude_patterns,
            )
            if spec.precision is Precision.INT8_DYNAMIC:
                settings.update(quantize_dynamic_variant(preprocessed, written, preset, exclusions))
            else:
                settings.update(
                    quantize_static_variant(
                        preprocessed,
                        written,
                        preset,
                        exclusions,
                        spec.calibration,
                        list(calibration_images or []),
                        model_image_size(model),
                    )
                )
            settings.update(
                {
                    "target": preset.target.value,
                    "target_cpu": preset.cpu,
                    "pre_processed": True,
                    "excluded": {
                        "classification_tail": spec.exclude_head,
                        "op_types": list(spec.exclude_op_types),
                        "patterns": list(spec.exclude_patterns),
                        "nodes": exclusions.nodes,
                    },
                }
            )
        onnx.checker.check_model(str(written))
        os.chmod(written, 0o644)
        os.replace(written, out_path)

    settings["onnxruntime"] = onnxruntime.__version__
    size_mb = out_path.stat().st_size / 1e6
    logger.info("wrote %s (%.1f MB, from %.1f MB fp32)", out_path, size_mb, fp32_path.stat().st_size / 1e6)
    return QuantizedVariant(out_path, settings)
