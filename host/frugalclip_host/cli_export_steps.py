"""The ``frugalclip to-onnx`` and ``frugalclip quantize`` commands: the export steps run one at a time."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, NoReturn

import numpy as np
import onnx
import typer
from PIL import Image
from rich.console import Console
from rich.table import Table
from tqdm import tqdm

from frugalclip_device.contract import PreprocessContract
from frugalclip_device.preprocess import load_image_rgb, preprocess_image

from .classifier import ClipClassifier
from .onnx_export import DEFAULT_OPSET, DEFAULT_PARITY_TOLERANCE, ExportError, check_parity, export_onnx
from .quantize import DEFAULT_VARIANTS, Calibration, Precision, model_image_size, parse_variants, quantize_variant

__all__ = ["EXPORT_STEP_ERROR_EXIT_CODE", "IMAGE_SUFFIXES", "list_images", "load_preprocessed", "register"]

logger = logging.getLogger(__name__)

EXPORT_STEP_ERROR_EXIT_CODE = 2
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
DEFAULT_CALIBRATION_IMAGES = 100


def _exit_with_error(console: Console, message: str) -> NoReturn:
    # One line: ONNX Runtime and torch errors span several.
    console.print(f"[bold red]error:[/] {' '.join(message.split())}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(EXPORT_STEP_ERROR_EXIT_CODE)


def list_images(folder: Path, limit: int | None = None) -> list[Path]:
    """List image files under ``folder``, taking them in turn from each subfolder so that classes stay balanced."""
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    groups: dict[Path, list[Path]] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            groups.setdefault(path.parent, []).append(path)
    if not groups:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found under {folder}")

    interleaved: list[Path] = []
    for rank in range(max(len(paths) for paths in groups.values())):
        interleaved.extend(paths[rank] for paths in groups.values() if rank < len(paths))
    return interleaved[:limit] if limit is not None else interleaved


def load_preprocessed(paths: Sequence[Path], contract: PreprocessContract, description: str) -> list[np.ndarray]:
    """Decode and preprocess images with the device contract, with a progress bar."""
    return [
        preprocess_image(load_image_rgb(path), contract)
        for path in tqdm(paths, desc=description, unit="image", leave=False)
    ]


def _builtin_parity_images(contract: PreprocessContract) -> list[np.ndarray]:
    """Return scikit-image's astronaut, cat and coffee photos, preprocessed with ``contract``."""
    from skimage import data

    photos = (data.astronaut(), data.chelsea(), data.coffee())
    return [preprocess_image(Image.fromarray(photo), contract) for photo in photos]


def register(app: typer.Typer) -> None:
    """Add the ``to-onnx`` and ``quantize`` commands to the frugalclip CLI."""

    @app.command("to-onnx")
    def to_onnx(
        classifier_dir: Annotated[
            Path, typer.Argument(help="Classifier folder written by `frugalclip train` (TRAIN_OUT/classifier).")
        ],
        out: Annotated[Path, typer.Option("--out", help="ONNX file to write, e.g. work/model-fp32.onnx.")],
        opset: Annotated[
            int, typer.Option("--opset", help="ONNX opset; 18 and up use torch's dynamo exporter, below 18 TorchScript's.")
        ] = DEFAULT_OPSET,
        parity_images: Annotated[
            Path | None,
            typer.Option(
                "--parity-images",
                help="Folder of images for the ONNX-vs-PyTorch parity check. "
                "Default: scikit-image's astronaut, cat and coffee photos.",
            ),
        ] = None,
        parity_limit: Annotated[
            int, typer.Option("--parity-limit", min=1, help="Maximum number of images from --parity-images.")
        ] = 32,
        tolerance: Annotated[
            float,
            typer.Option("--tolerance", min=0.0, help="Maximum abs difference of probabilities (0..1) allowed by the parity check."),
        ] = DEFAULT_PARITY_TOLERANCE,
    ) -> None:
        """Export a trained classifier to one ONNX graph (uint8 image in, probabilities out) and check parity."""
        console = Console(stderr=True)
        try:
            classifier = ClipClassifier.load(classifier_dir)
            contract = PreprocessContract(
                image_size=classifier.image_size, resize_shortest_edge=classifier.resize_shortest_edge_px
            )
            if parity_images is None:
                images = _builtin_parity_images(contract)
            else:
                images = load_preprocessed(list_images(parity_images, parity_limit), contract, "parity images")
            path = export_onnx(classifier, out, opset=opset)
            parity = check_parity(classifier, path, images, tolerance=tolerance)
        except (OSError, ValueError, ExportError) as error:
            _exit_with_error(console, str(error))

        console.print(
            f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB); parity with PyTorch: max abs difference "
            f"{parity.max_abs_difference:.1e} on {parity.image_count} images (tolerance {tolerance:.0e})",
            soft_wrap=True,
        )
        if classifier.weights.value != "pretrained":
            console.print(
                f"[yellow]weights are {classifier.weights.value}: this model's predictions say nothing about CLIP[/]"
            )

    @app.command("quantize")
    def quantize(
        fp32_onnx: Annotated[Path, typer.Argument(help="fp32 ONNX file written by `frugalclip to-onnx`.")],
        out: Annotated[Path, typer.Option("--out", help="Folder that receives model-<variant>.onnx files.")],
        variants: Annotated[
            str,
            typer.Option(
                "--variants",
                help="Comma-separated variants: fp16, int8-dynamic-pi4, int8-dynamic-pi5, int8-dynamic-x86, "
                "int8-static-pi5 (needs --calibration-dir).",
            ),
        ] = ",".join(DEFAULT_VARIANTS),
        calibration_dir: Annotated[
            Path | None,
            typer.Option("--calibration-dir", help="Prepared training images for static variants, e.g. PREPARED/train."),
        ] = None,
        calibration_method: Annotated[
            Calibration | None,
            typer.Option("--calibration-method", help="Calibration method of static variants. Default: each variant's own (minmax)."),
        ] = None,
        calibration_images: Annotated[
            int,
            typer.Option("--calibration-images", min=1, help="Maximum number of calibration images, taken in turn from each class folder."),
        ] = DEFAULT_CALIBRATION_IMAGES,
        exclude_nodes: Annotated[
            str,
            typer.Option(
                "--exclude-nodes",
                help="Comma-separated node-name globs or op types to keep in float, e.g. 'node_MatMul_1*,Gemm'. "
                "Added to each int8 variant's own exclusions; fp16 has none.",
            ),
        ] = "",
    ) -> None:
        """Write quantized and half-precision variants of an fp32 ONNX model, each measured later by verification."""
        console = Console(stderr=True)
        patterns = tuple(pattern.strip() for pattern in exclude_nodes.split(",") if pattern.strip())
        try:
            specs = parse_variants(variants)
            if not fp32_onnx.is_file():
                raise FileNotFoundError(f"fp32 model not found: {fp32_onnx}; write it with `frugalclip to-onnx`")
            image_size = model_image_size(onnx.load(str(fp32_onnx), load_external_data=False))

            images: list[np.ndarray] = []
            if any(spec.precision is Precision.INT8_STATIC for spec in specs):
                if calibration_dir is None:
                    raise ValueError("static variants need calibration images: pass --calibration-dir PREPARED/train")
                contract = PreprocessContract(image_size=image_size, resize_shortest_edge=image_size)
                paths = list_images(calibration_dir, calibration_images)
                images = load_preprocessed(paths, contract, "calibration images")

            rows = []
            for spec in specs:
                spec = dataclasses.replace(spec, exclude_patterns=spec.exclude_patterns + patterns)
                if calibration_method is not None and spec.precision is Precision.INT8_STATIC:
                    spec = dataclasses.replace(spec, calibration=calibration_method)
                path, settings = quantize_variant(fp32_onnx, out, spec, images)
                rows.append((spec.name, path, settings))
        except (OSError, ValueError, RuntimeError, onnx.checker.ValidationError) as error:
            # RuntimeError: ONNX Runtime's quantization tools raise it for graphs they cannot handle.
            _exit_with_error(console, str(error))

        table = Table(title=f"variants of {fp32_onnx} in {out} (size only: accuracy is measured by verification)")
        for column in ("variant", "file", "size MB", "size vs fp32", "excluded nodes"):
            table.add_column(column)
        fp32_bytes = fp32_onnx.stat().st_size
        for name, path, settings in rows:
            excluded = len(settings.get("excluded", {}).get("nodes", []))
            size_bytes = path.stat().st_size
            table.add_row(name, path.name, f"{size_bytes / 1e6:.1f}", f"{size_bytes / fp32_bytes:.2f}", str(excluded))
        Console().print(table)
