"""Export a ClipClassifier to one ONNX graph from uint8 image to class probabilities, and check parity.

The graph follows models/FORMAT.md and ``frugalclip_device.contract``. Its input ``image`` is
uint8 [batch, S, S, 3] RGB NHWC. Inside, it casts to float, divides by 255, normalises with the
CLIP mean and std and transposes to NCHW. The classifier follows (vision tower, projection, L2
normalisation, head scaled by the logit scale), then a softmax. Its output ``probabilities``
is float32 [batch, C].
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch

from frugalclip_device.contract import CLIP_MEAN, CLIP_STD, INPUT_NAME, OUTPUT_NAME, PreprocessContract
from frugalclip_device.session import Classifier

__all__ = [
    "DEFAULT_OPSET",
    "DEFAULT_PARITY_TOLERANCE",
    "ExportError",
    "ExportParityError",
    "ImageToProbabilities",
    "ParityResult",
    "check_parity",
    "export_onnx",
    "normalise_images_numpy",
]

logger = logging.getLogger(__name__)

# torch 2.13's dynamo exporter emits opset 18 natively. Asking it for 17 runs onnx's version
# converter, which fails on this graph (onnx 1.23.2: "axes_input_to_attribute ... No initializer
# or constant input"), so opsets below 18 go through the TorchScript exporter instead.
DEFAULT_OPSET = 18
MIN_DYNAMO_OPSET = 18
MIN_OPSET = 14  # the TorchScript exporter needs 14 for scaled_dot_product_attention

DEFAULT_PARITY_TOLERANCE = 1e-4  # max abs difference of probabilities, ONNX Runtime vs PyTorch


class ExportError(RuntimeError):
    """An export that failed or produced a graph that breaks the bundle's graph contract."""


@dataclass(frozen=True)
class ParityResult:
    """Comparison of ONNX Runtime and PyTorch probabilities on the same uint8 images."""

    max_abs_difference: float
    tolerance: float
    image_count: int
    top1_agreement: float  # fraction of images whose arg-max class is the same on both sides

    @property
    def passed(self) -> bool:
        return self.max_abs_difference <= self.tolerance


class ExportParityError(ExportError):
    """The exported graph's probabilities differ from PyTorch's by more than the tolerance."""

    def __init__(self, message: str, result: ParityResult) -> None:
        super().__init__(message)
        self.result = result


class ImageToProbabilities(torch.nn.Module):
    """The exported module: uint8 NHWC RGB images in, softmax probabilities out."""

    def __init__(self, classifier: torch.nn.Module) -> None:
        super().__init__()
        self.classifier = classifier
        self.register_buffer("mean", torch.tensor(CLIP_MEAN, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(CLIP_STD, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        pixels = image.permute(0, 3, 1, 2).to(torch.float32) / 255.0
        pixels = (pixels - self.mean) / self.std
        logits = self.classifier(pixels)
        return torch.softmax(logits, dim=-1)


def normalise_images_numpy(images: np.ndarray) -> np.ndarray:
    """Turn uint8 [B, S, S, 3] RGB into CLIP-normalised float32 [B, 3, S, S], written apart from the graph.

    The parity check feeds PyTorch through this NumPy path so that a mistake in the graph's
    own normalisation shows up as a difference.
    """
    pixels = images.astype(np.float32) / 255.0
    pixels = (pixels - np.asarray(CLIP_MEAN, dtype=np.float32)) / np.asarray(CLIP_STD, dtype=np.float32)
    return np.ascontiguousarray(pixels.transpose(0, 3, 1, 2))


def _example_input(image_size: int, batch: int = 2) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (batch, image_size, image_size, 3), dtype=torch.uint8, generator=generator)


def _export_dynamo(module: torch.nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    batch = torch.export.Dim("batch", min=1)
    # torch logs a warning for each torchvision op it cannot register. This graph uses none.
    registration_logger = logging.getLogger("torch.onnx._internal.exporter._registration")
    previous_level = registration_logger.level
    registration_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            # Raised inside torch.export by torch 2.13's own pytree code, not by this module.
            warnings.filterwarnings("ignore", message=".*LeafSpec.*", category=FutureWarning)
            program = torch.onnx.export(
                module,
                (example,),
                None,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_shapes={"image": {0: batch}},
                opset_version=opset,
                dynamo=True,
                optimize=True,
                verbose=False,
            )
    finally:
        registration_logger.setLevel(previous_level)
    program.save(str(path), external_data=False)


def _run_quietly(export, *args) -> None:
    """Run an exporter with its progress lines (printed to stdout) sent to the debug log instead."""
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        export(*args)
    for line in captured.getvalue().splitlines():
        logger.debug("torch.onnx: %s", line)


def _export_torchscript(module: torch.nn.Module, example: torch.Tensor, path: Path, opset: int) -> None:
    with warnings.catch_warnings():
        # Both warnings are expected here: the exporter is deprecated, and transformers'
        # interpolate_pos_encoding branch is traced as a constant for the fixed image size.
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )


def _check_graph_contract(model: onnx.ModelProto, image_size: int, num_classes: int, path: Path) -> None:
    """Raise ExportError unless the graph has the one input and one output that FORMAT.md names."""
    inputs = [graph_input.name for graph_input in model.graph.input]
    outputs = [graph_output.name for graph_output in model.graph.output]
    if inputs != [INPUT_NAME] or outputs != [OUTPUT_NAME]:
        raise ExportError(f"{path}: inputs {inputs} and outputs {outputs}, expected [{INPUT_NAME!r}] and [{OUTPUT_NAME!r}]")

    input_type = model.graph.input[0].type.tensor_type
    if input_type.elem_type != onnx.TensorProto.UINT8:
        raise ExportError(f"{path}: input {INPUT_NAME!r} has element type {input_type.elem_type}, expected uint8")
    dims = [dim.dim_value if dim.HasField("dim_value") else dim.dim_param for dim in input_type.shape.dim]
    if len(dims) != 4 or isinstance(dims[0], int) or dims[1:] != [image_size, image_size, 3]:
        raise ExportError(f"{path}: input shape {dims}, expected [batch, {image_size}, {image_size}, 3]")

    output_type = model.graph.output[0].type.tensor_type
    output_dims = [dim.dim_value if dim.HasField("dim_value") else dim.dim_param for dim in output_type.shape.dim]
    if output_type.elem_type != onnx.TensorProto.FLOAT or len(output_dims) != 2 or output_dims[1] != num_classes:
        raise ExportError(f"{path}: output shape {output_dims}, expected float32 [batch, {num_classes}]")


def export_onnx(classifier: torch.nn.Module, out_path: Path, *, opset: int = DEFAULT_OPSET) -> Path:
    """Export ``classifier`` (a ClipClassifier) to ``out_path`` and return the path.

    The file appears only once the graph passed ``onnx.checker`` and the contract check: it is
    written to a temporary file in the same folder, then renamed.
    """
    if opset < MIN_OPSET:
        raise ValueError(f"opset {opset} is too old for this graph; use {MIN_OPSET} or newer (default {DEFAULT_OPSET})")
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    image_size = int(classifier.image_size)
    num_classes = len(classifier.labels)

    module = ImageToProbabilities(classifier).eval()
    example = _example_input(image_size)
    exporter = "dynamo" if opset >= MIN_DYNAMO_OPSET else "torchscript"
    logger.info("exporting %d-class classifier to %s (opset %d, %s exporter)", num_classes, out_path, opset, exporter)

    handle, temporary_name = tempfile.mkstemp(prefix=f".{out_path.stem}-", suffix=".onnx", dir=out_path.parent)
    os.close(handle)
    temporary_path = Path(temporary_name)
    try:
        with torch.no_grad():
            export = _export_dynamo if exporter == "dynamo" else _export_torchscript
            _run_quietly(export, module, example, temporary_path, opset)
        # A path, not a ModelProto: the checker then also handles models above 2 GB.
        onnx.checker.check_model(str(temporary_path), full_check=True)
        _check_graph_contract(onnx.load(str(temporary_path), load_external_data=False), image_size, num_classes, out_path)
        os.chmod(temporary_path, 0o644)  # mkstemp creates the file readable by its owner only
        os.replace(temporary_path, out_path)
    except Exception as error:
        temporary_path.unlink(missing_ok=True)
        if isinstance(error, ExportError):
            raise
        raise ExportError(f"ONNX export to {out_path} failed at opset {opset}: {error}") from error

    logger.info("wrote %s (%.1f MB)", out_path, out_path.stat().st_size / 1e6)
    return out_path


def check_parity(
    classifier: torch.nn.Module,
    onnx_path: Path,
    images: Sequence[np.ndarray],
    *,
    tolerance: float = DEFAULT_PARITY_TOLERANCE,
    batch_size: int = 8,
) -> ParityResult:
    """Compare ONNX Runtime and PyTorch probabilities on uint8 [S, S, 3] images.

    ONNX Runtime runs through the device's own session code; PyTorch gets the same images
    normalised in NumPy. Raises ExportParityError when the max abs difference exceeds
    ``tolerance``.
    """
    if not images:
        raise ValueError("check_parity needs at least one image; pass preprocessed uint8 [S, S, 3] arrays")
    image_size = int(classifier.image_size)
    batch = np.stack(images)
    if batch.dtype != np.uint8 or batch.shape[1:] != (image_size, image_size, 3):
        raise ValueError(f"expected uint8 images of shape [{image_size}, {image_size}, 3], got {batch.dtype} {batch.shape[1:]}")

    session = Classifier(Path(onnx_path), PreprocessContract(image_size=image_size, resize_shortest_edge=image_size))
    classifier = classifier.eval()
    onnx_rows = []
    torch_rows = []
    for start in range(0, len(batch), batch_size):
        chunk = batch[start : start + batch_size]
        onnx_rows.append(session.predict(chunk))
        with torch.no_grad():
            logits = classifier(torch.from_numpy(normalise_images_numpy(chunk)))
            torch_rows.append(torch.softmax(logits, dim=-1).numpy())
    onnx_probabilities = np.concatenate(onnx_rows)
    torch_probabilities = np.concatenate(torch_rows)

    result = ParityResult(
        max_abs_difference=float(np.max(np.abs(onnx_probabilities - torch_probabilities))),
        tolerance=tolerance,
        image_count=len(batch),
        top1_agreement=float(np.mean(onnx_probabilities.argmax(axis=1) == torch_probabilities.argmax(axis=1))),
    )
    logger.info(
        "parity on %d images: max abs difference %.2e (tolerance %.1e), top-1 agreement %.3f",
        result.image_count,
        result.max_abs_difference,
        tolerance,
        result.top1_agreement,
    )
    if not result.passed:
        raise ExportParityError(
            f"{onnx_path}: probabilities differ from PyTorch by up to {result.max_abs_difference:.2e} on "
            f"{result.image_count} images, above the tolerance {tolerance:.1e}; check the exported "
            "normalisation and opset, or raise --tolerance if the difference is expected",
            result,
        )
    return result
