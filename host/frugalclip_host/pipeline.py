"""The whole host pipeline behind ``frugalclip export``: prepare, train, export, quantize, verify, bundle.

Intermediate files go to the work folder (``work/<name>`` by default). Only the last step
writes to ``models/<name>``, and it replaces an earlier bundle only once the new one is
complete. A failing step raises PipelineError naming the step, and the previous bundle stays.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from frugalclip_device.contract import PreprocessContract
from frugalclip_device.preprocess import load_image_rgb, preprocess_image

from .bundle_writer import BundleVariant, check_bundle_name, write_bundle
from .classifier import ClipClassifier
from .data.prepare import PreparedData, PrepareOptions, prepare_dataset
from .demo_data import write_demo_dataset
from .model_card import metrics_caveat
from .model_source import DEFAULT_MODEL_ID, LoadedClip, load_clip
from .onnx_export import ParityResult, check_parity, export_onnx
from .quantize import quantize_variant
from .quantize.variants import Precision, parse_variants
from .train import TrainMethod, TrainOptions, TrainResult, train_classifier
from .verify import REFERENCE_VARIANT, DefaultChoice, VerificationTable, choose_default, verify_variants
from .weights_kind import WeightsKind

__all__ = [
    "DEFAULT_VARIANTS",
    "ExportOptions",
    "ExportResult",
    "PipelineError",
    "PipelineStep",
    "run_export",
    "training_options",
]

logger = logging.getLogger(__name__)

DEFAULT_VARIANTS = ("fp16", "int8-dynamic-pi4", "int8-dynamic-pi5", "int8-dynamic-x86", "int8-static-pi5")
DEMO_NAME = "demo"

# Random-init features give a linear probe little to work with, so the tiny CLIP fine-tunes all
# of its blocks, for longer than TrainOptions' default of 10 epochs and with a larger learning
# rate than the pretrained fine-tune default of 1e-5. On the demo photos, validation accuracy
# still rose at epoch 15 (2 cores, about 10 s per epoch).
TINY_EPOCHS = 15
TINY_FINE_TUNE_LR = 1e-4

PARITY_IMAGE_COUNT = 8  # test images compared between PyTorch and ONNX Runtime
CALIBRATION_IMAGE_COUNT = 64  # training images that calibrate static quantization


class PipelineStep(str, Enum):
    """The steps of ``frugalclip export``, in order."""

    PREPARE = "prepare"
    LOAD_MODEL = "load model"
    TRAIN = "train"
    EXPORT = "to-onnx"
    QUANTIZE = "quantize"
    VERIFY = "verify"
    BUNDLE = "bundle"


class PipelineError(Exception):
    """A pipeline step failed; ``step`` names it and ``__cause__`` is the original error."""

    def __init__(self, step: PipelineStep, error: BaseException) -> None:
        super().__init__(f"{step.value} failed: {error}")
        self.step = step
        self.error = error


@dataclass(frozen=True)
class ExportOptions:
    """Settings of one ``frugalclip export`` run; None means "choose from the model and data"."""

    data: Path | None = None  # ImageFolder tree; None writes the embedded demo photos
    model: str = DEFAULT_MODEL_ID  # Hub id or local CLIP directory
    name: str | None = None  # bundle name; default: the data folder's name, or "demo"
    out_root: Path = Path("models")
    work_dir: Path | None = None  # default: work/<name>
    method: TrainMethod | None = None  # default: linear-probe, or fine-tune for random-init weights
    fallback_tiny: bool = False  # use the tiny random-init CLIP when the model cannot be loaded
    variants: Sequence[str] = DEFAULT_VARIANTS  # besides fp32, which is always exported
    budget_points: float = 1.0  # largest accepted accuracy drop against fp32, in percentage points
    force: bool = False  # write the bundle with fp32 as default when no variant meets the budget
    target: str = "pi5"  # device preset preferred among default candidates of equal size
    keep_all_variants: bool = True
    epochs: int | None = None  # default: the training method's, or TINY_EPOCHS for random-init weights
    seed: int = 0
    country: str = "FRA"  # ISO 3166 alpha-3 code for codecarbon's carbon intensity
    prepare: PrepareOptions = field(default_factory=PrepareOptions)

    def validate(self) -> None:
        """Raise ValueError on settings that would only fail late in the run, such as an unknown variant."""
        if self.variants:
            parse_variants(",".join(self.variants))
        if self.budget_points < 0:
            raise ValueError(f"budget_points must be 0 or more percentage points, got {self.budget_points}")
        if self.epochs is not None and self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.data is not None and not Path(self.data).is_dir():
            raise ValueError(f"data folder {self.data} not found: pass an ImageFolder tree DATA/<class>/<images>")
        check_bundle_name(self.resolved_name())

    def resolved_name(self) -> str:
        return self.name or (Path(self.data).name if self.data else DEMO_NAME)

    def resolved_work_dir(self) -> Path:
        return Path(self.work_dir) if self.work_dir else Path("work") / self.resolved_name()


@dataclass(frozen=True)
class ExportResult:
    """Bundle path, measurements and timings of one export run."""

    bundle_dir: Path
    table: VerificationTable
    choice: DefaultChoice
    weights: WeightsKind
    fell_back: bool
    parity: ParityResult
    train_result: TrainResult
    step_seconds: dict[PipelineStep, float]
    wall_s: float

    @property
    def caveat(self) -> str | None:
        """The label every printed metric of this run needs, or None for pretrained weights."""
        return metrics_caveat(self.weights.value)


# Called with (step, index from 1, step count) when a step starts.
StepListener = Callable[[PipelineStep, int, int], None]


def _preprocess_paths(paths: Sequence[Path], contract: PreprocessContract) -> list[np.ndarray]:
    return [preprocess_image(load_image_rgb(path), contract) for path in paths]


def _spread_sample(split: Sequence[tuple[Path, int]], count: int, seed: int) -> list[Path]:
    """Pick up to ``count`` images, as evenly across classes as the split allows, with a seed."""
    rng = np.random.default_rng(seed)
    by_class: dict[int, list[Path]] = {}
    for path, class_index in split:
        by_class.setdefault(class_index, []).append(path)
    for paths in by_class.values():
        rng.shuffle(paths)

    chosen: list[Path] = []
    while len(chosen) < count and any(by_class.values()):
        for paths in by_class.values():
            if paths and len(chosen) < count:
                chosen.append(paths.pop())
    return chosen


def _trainable_blocks_entry(result: TrainResult) -> int | str | None:
    """Return the fine-tuned block count, "all", or None for methods that train no block."""
    if result.method != TrainMethod.FINE_TUNE.value:
        return None
    blocks = result.options.get("trainable_blocks")
    return "all" if blocks is None else blocks


def training_options(options: ExportOptions, weights: WeightsKind) -> TrainOptions:
    """Return the training settings of an export: the user's choices, else defaults for the kind of weights."""
    settings: dict[str, Any] = {"seed": options.seed, "country_iso_code": options.country}
    if weights is WeightsKind.PRETRAINED:
        settings["method"] = options.method or TrainMethod.LINEAR_PROBE
        if options.epochs is not None:
            settings["epochs"] = options.epochs
    else:
        settings["method"] = options.method or TrainMethod.FINE_TUNE
        settings["epochs"] = options.epochs or TINY_EPOCHS
        if settings["method"] is TrainMethod.FINE_TUNE:
            settings["trainable_blocks"] = None  # all blocks
            settings["lr"] = TINY_FINE_TUNE_LR
    return TrainOptions(**settings)


class _Run:
    """State of one export run, so each step is a short method."""

    def __init__(self, options: ExportOptions, on_step: StepListener | None) -> None:
        self.options = options
        self.on_step = on_step
        self.name = options.resolved_name()
        self.work_dir = options.resolved_work_dir()
        self.step_seconds: dict[PipelineStep, float] = {}

    def step(self, step: PipelineStep, action: Callable[[], Any]) -> Any:
        """Run one step, timing it and wrapping any error into PipelineError."""
        index = list(PipelineStep).index(step) + 1
        if self.on_step:
            self.on_step(step, index, len(PipelineStep))
        logger.info("step %d/%d: %s", index, len(PipelineStep), step.value)
        began = time.perf_counter()
        try:
            result = action()
        except PipelineError:
            raise
        except Exception as error:
            logger.debug("step %s failed", step.value, exc_info=True)
            raise PipelineError(step, error) from error
        self.step_seconds[step] = time.perf_counter() - began
        return result

    def prepare(self) -> PreparedData:
        source = self.options.data
        if source is None:
            source = write_demo_dataset(self.work_dir / "demo-source")
            logger.info("no --data given: using the embedded demo photos in %s", source)
        return prepare_dataset(Path(source), self.work_dir / "prepared", self.options.prepare)

    def load_model(self) -> LoadedClip:
        fallback_dir = self.work_dir / "tiny-clip" if self.options.fallback_tiny else None
        return load_clip(self.options.model, fallback_tiny_dir=fallback_dir)

    def train(self, prepared: PreparedData, loaded: LoadedClip) -> TrainResult:
        return train_classifier(prepared.out_dir, loaded, training_options(self.options, loaded.weights), self.work_dir / "train")

    @staticmethod
    def training_entry(result: TrainResult) -> dict[str, Any]:
        """Return the manifest's ``training`` entry (models/FORMAT.md) of a training run."""
        return {
            "method": result.method,
            "epochs": result.epochs_run,
            "best_epoch": result.best_epoch,
            "stopped_early": result.stopped_early,
            "learning_rate": result.options.get("learning_rate"),
            "trainable_blocks": _trainable_blocks_entry(result),
            "duration_s": result.duration_s,
            "energy_kwh": result.energy_kwh,
            "co2_kg": result.co2_kg,
            "energy_note": result.energy_note,
            "num_images": result.num_images,
        }

    def export(self, train_result: TrainResult, prepared: PreparedData) -> tuple[Path, ParityResult, PreprocessContract]:
        classifier = ClipClassifier.load(Path(train_result.classifier_dir))
        contract = PreprocessContract(
            image_size=classifier.image_size, resize_shortest_edge=classifier.resize_shortest_edge_px
        )
        fp32_path = export_onnx(classifier, self.work_dir / "onnx" / "model-fp32.onnx")
        test_paths = _spread_sample(prepared.splits["test"], PARITY_IMAGE_COUNT, self.options.seed)
        parity = check_parity(classifier, fp32_path, _preprocess_paths(test_paths, contract))
        return fp32_path, parity, contract

    def quantize(
        self, fp32_path: Path, prepared: PreparedData, contract: PreprocessContract
    ) -> tuple[dict[str, Path], dict[str, dict[str, Any] | None]]:
        specs = parse_variants(",".join(self.options.variants)) if self.options.variants else []
        paths: dict[str, Path] = {REFERENCE_VARIANT: fp32_path}
        settings: dict[str, dict[str, Any] | None] = {REFERENCE_VARIANT: None}
        calibration = None
        if any(spec.precision is Precision.INT8_STATIC for spec in specs):
            train_paths = _spread_sample(prepared.splits["train"], CALIBRATION_IMAGE_COUNT, self.options.seed)
            calibration = _preprocess_paths(train_paths, contract)
        for spec in specs:
            paths[spec.name], settings[spec.name] = quantize_variant(
                fp32_path, self.work_dir / "onnx", spec, calibration
            )
        return paths, settings

    def verify(
        self, variant_paths: dict[str, Path], prepared: PreparedData, loaded: LoadedClip, contract: PreprocessContract
    ) -> tuple[VerificationTable, DefaultChoice]:
        caveat = metrics_caveat(loaded.weights.value)
        table = verify_variants(
            variant_paths, prepared.splits["test"], prepared.classes, contract, weights_note=caveat
        )
        # AccuracyBudgetError carries the table; PipelineError keeps it as its cause.
        return table, choose_default(
            table, self.options.budget_points, force=self.options.force, target=self.options.target
        )

    def write(
        self,
        *,
        prepared: PreparedData,
        loaded: LoadedClip,
        train_result: TrainResult,
        contract: PreprocessContract,
        table: VerificationTable,
        choice: DefaultChoice,
        quantization: dict[str, dict[str, Any] | None],
    ) -> Path:
        variants = {
            name: BundleVariant(
                path=row.path,
                metrics=row.manifest_metrics(table.reference),
                quantization=quantization.get(name),
            )
            for name, row in table.rows.items()
        }
        return write_bundle(
            Path(self.options.out_root) / self.name,
            name=self.name,
            variants=variants,
            default_variant=choice.variant,
            labels=prepared.classes,
            contract=contract,
            source_model={
                "id": loaded.source_id,
                "revision": loaded.revision,
                "weights": loaded.weights.value,
                "fell_back": loaded.fell_back,
                "requested": self.options.model,
            },
            training=self.training_entry(train_result),
            data_report_path=prepared.report_path,
            data_summary={
                "source": str(self.options.data) if self.options.data else "embedded demo photos (scikit-image)",
                "split_sizes": {split: len(items) for split, items in prepared.splits.items()},
            },
            include_all_variants=self.options.keep_all_variants,
            default_reason=choice.reason,
        )


def run_export(options: ExportOptions, *, on_step: StepListener | None = None) -> ExportResult:
    """Run every step and return the bundle path and measurements.

    Raise ValueError on invalid options before any work, and PipelineError when a step fails.
    """
    began = time.perf_counter()
    options.validate()
    run = _Run(options, on_step)
    logger.info("export %s: work folder %s, bundle %s", run.name, run.work_dir, Path(options.out_root) / run.name)

    prepared = run.step(PipelineStep.PREPARE, run.prepare)
    loaded = run.step(PipelineStep.LOAD_MODEL, run.load_model)
    train_result = run.step(PipelineStep.TRAIN, lambda: run.train(prepared, loaded))

    fp32_path, parity, contract = run.step(PipelineStep.EXPORT, lambda: run.export(train_result, prepared))
    variant_paths, quantization = run.step(PipelineStep.QUANTIZE, lambda: run.quantize(fp32_path, prepared, contract))
    table, choice = run.step(PipelineStep.VERIFY, lambda: run.verify(variant_paths, prepared, loaded, contract))
    bundle_dir = run.step(
        PipelineStep.BUNDLE,
        lambda: run.write(
            prepared=prepared,
            loaded=loaded,
            train_result=train_result,
            contract=contract,
            table=table,
            choice=choice,
            quantization=quantization,
        ),
    )

    wall_s = time.perf_counter() - began
    logger.info("export %s finished in %.1f s: %s, default variant %s", run.name, wall_s, bundle_dir, choice.variant)
    return ExportResult(
        bundle_dir=bundle_dir,
        table=table,
        choice=choice,
        weights=loaded.weights,
        fell_back=loaded.fell_back,
        parity=parity,
        train_result=train_result,
        step_seconds=run.step_seconds,
        wall_s=wall_s,
    )
