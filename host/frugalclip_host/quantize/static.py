"""Static int8 quantization in QDQ format, calibrated on preprocessed training images."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static

from frugalclip_device.contract import INPUT_NAME

from .exclusions import Exclusions
from .presets import TargetPreset
from .variants import Calibration

__all__ = ["ImageCalibrationReader", "chunk_size", "quantize_static_variant"]

logger = logging.getLogger(__name__)

# Calibration runs on chunks of at most this many images. The Entropy and Percentile
# calibrators keep every activation of a chunk in memory before folding it into their
# histograms: about 60 MB per image for ViT-B/32, an estimate from its tensor sizes.
# NOTE: onnxruntime 1.32's CalibMaxIntermediateOutputs option drops the data it should
# merge, so chunking goes through CalibStridedMinMax, which applies to every method.
MAX_IMAGES_PER_CHUNK = 8


def chunk_size(image_count: int, limit: int = MAX_IMAGES_PER_CHUNK) -> int:
    """Return the largest chunk size up to ``limit`` that divides ``image_count``, as ONNX Runtime requires."""
    return max(size for size in range(1, min(limit, image_count) + 1) if image_count % size == 0)


class ImageCalibrationReader(CalibrationDataReader):
    """Feeds uint8 [S, S, 3] images, as preprocessed by the device contract, one at a time."""

    def __init__(self, images: Sequence[np.ndarray], image_size: int) -> None:
        for index, image in enumerate(images):
            if image.dtype != np.uint8 or image.shape != (image_size, image_size, 3):
                raise ValueError(
                    f"calibration image {index} is {image.dtype} {image.shape}, expected uint8 "
                    f"[{image_size}, {image_size}, 3]; preprocess it with the bundle's contract"
                )
        self.images = list(images)
        self.position = 0
        self.end = len(self.images)

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.position >= self.end:
            return None
        image = self.images[self.position]
        self.position += 1
        return {INPUT_NAME: image[np.newaxis]}

    def __len__(self) -> int:
        return len(self.images)

    def set_range(self, start_index: int, end_index: int) -> None:
        """Restrict the next pass to images [start_index, end_index). ONNX Runtime calls it once per chunk."""
        self.position = start_index
        self.end = min(end_index, len(self.images))

    def rewind(self) -> None:
        self.position = 0
        self.end = len(self.images)


def quantize_static_variant(
    preprocessed_path: Path,
    out_path: Path,
    preset: TargetPreset,
    exclusions: Exclusions,
    calibration: Calibration,
    images: Sequence[np.ndarray],
    image_size: int,
) -> dict:
    """Calibrate on ``images``, write the QDQ model to ``out_path`` and return its settings."""
    if not images:
        raise ValueError(
            "static quantization needs calibration images; pass --calibration-dir with prepared training images"
        )
    reader = ImageCalibrationReader(images, image_size)
    extra_options = {"CalibStridedMinMax": chunk_size(len(reader))}

    logger.info(
        "static int8 quantization for %s, %s calibration on %d images: %s -> %s",
        preset.target.value,
        calibration.value,
        len(reader),
        preprocessed_path,
        out_path,
    )
    quantize_static(
        preprocessed_path,
        out_path,
        reader,
        quant_format=QuantFormat.QDQ,
        per_channel=preset.per_channel,
        reduce_range=preset.reduce_range,
        activation_type=preset.static_activation_type,
        weight_type=preset.weight_type,
        nodes_to_exclude=exclusions.nodes,
        calibrate_method=calibration.to_onnxruntime(),
        extra_options=extra_options,
    )
    activation = "int8" if preset.static_activation_type.name == "QInt8" else "uint8"
    return {
        "method": "static",
        "format": "QDQ",
        "weight_type": "int8",
        "activation_type": f"{activation}, scale fixed by calibration",
        "per_channel": preset.per_channel,
        "reduce_range": preset.reduce_range,
        "calibration": {"method": calibration.value, "image_count": len(reader)},
    }
