"""The ONNX Runtime session that turns preprocessed images into class probabilities."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .bundle import Bundle, BundleError
from .contract import PreprocessContract

__all__ = ["Classifier", "physical_core_count"]

logger = logging.getLogger(__name__)


def physical_core_count() -> int:
    """Count physical cores from sysfs topology; fall back to the logical CPU count."""
    cores = set()
    for topology in Path("/sys/devices/system/cpu").glob("cpu[0-9]*/topology"):
        try:
            package = (topology / "physical_package_id").read_text().strip()
            core = (topology / "core_id").read_text().strip()
        except OSError:
            continue
        cores.add((package, core))
    return len(cores) or os.cpu_count() or 1


class Classifier:
    """One ONNX Runtime session over a model that follows the bundle's graph contract.

    ``threads`` sets the intra-op thread count (default: physical cores). ``spinning`` lets
    idle threads busy-wait for the next op: slightly lower latency, more energy.
    """

    def __init__(
        self,
        model_path: Path,
        contract: PreprocessContract,
        *,
        threads: int | None = None,
        spinning: bool = False,
    ) -> None:
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self.model_path = Path(model_path)
        self.contract = contract
        self.threads = threads or physical_core_count()
        self.spinning = spinning

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        try:
            self.session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own untyped exceptions
            raise BundleError(f"ONNX Runtime cannot load {self.model_path}: {error}") from error

        inputs = self.session.get_inputs()
        if len(inputs) != 1 or inputs[0].name != contract.input_name:
            raise BundleError(
                f"{self.model_path} has inputs {[i.name for i in inputs]}, expected one input {contract.input_name!r}"
            )
        size = contract.image_size
        input_shape = inputs[0].shape
        if inputs[0].type != "tensor(uint8)" or len(input_shape) != 4 or any(
            isinstance(dim, int) and dim != wanted for dim, wanted in zip(input_shape[1:], (size, size, 3))
        ):
            raise BundleError(
                f"{self.model_path} takes {inputs[0].type} {input_shape}, but its preprocess.json gives "
                f"tensor(uint8) [batch, {size}, {size}, 3]: the files do not belong together: re-export the bundle"
            )
        output_shape = self.session.get_outputs()[0].shape
        self.num_classes = output_shape[1] if len(output_shape) == 2 and isinstance(output_shape[1], int) else None
        logger.info("session ready: %s, %d threads, spinning %s", self.model_path.name, self.threads, spinning)

    @classmethod
    def from_bundle(
        cls, bundle: Bundle, variant: str | None = None, *, threads: int | None = None, spinning: bool = False
    ) -> "Classifier":
        """Open a bundle's variant and check that its output size matches labels.json."""
        chosen = bundle.variant(variant)
        classifier = cls(chosen.path, bundle.contract, threads=threads, spinning=spinning)
        if classifier.num_classes is not None and classifier.num_classes != len(bundle.labels):
            raise BundleError(
                f"{chosen.path} outputs {classifier.num_classes} classes but {bundle.path / 'labels.json'} "
                f"lists {len(bundle.labels)}; the labels do not belong to this model: re-export the bundle"
            )
        classifier.variant = chosen.name
        return classifier

    variant: str | None = None

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Return float32 probabilities [batch, classes] for uint8 images [batch, S, S, 3]."""
        if images.ndim == 3:
            images = images[np.newaxis]
        size = self.contract.image_size
        if images.dtype != np.uint8 or images.shape[1:] != (size, size, 3):
            raise ValueError(f"expected uint8 images of shape [batch, {size}, {size}, 3], got {images.dtype} {images.shape}")
        (probabilities,) = self.session.run([self.contract.output_name], {self.contract.input_name: images})
        return probabilities
