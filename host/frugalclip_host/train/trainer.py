"""`train_classifier`: from a prepared image folder and a CLIP model to a saved ClipClassifier.

Runs as is on one process and under `accelerate launch` (DDP): data loaders are sharded,
metrics gathered, and only the main process writes checkpoints, the classifier and the result.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, set_seed
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from ..classifier import ClipClassifier, zero_shot_head
from ..model_source import LoadedClip
from .checkpoint import CHECKPOINT_FILE, TrainingState, load_checkpoint, save_checkpoint
from .embedding_cache import EmbeddingCache, model_fingerprint
from .energy import EnergyMeter
from .epoch_loop import evaluate, train_one_epoch
from .image_dataset import LabelledImageDataset
from .options import TRAIN_RESULT_FILE, EpochRecord, TrainMethod, TrainOptions, TrainResult
from .prepared_data import PreparedData, read_prepared

__all__ = ["CLASSIFIER_DIR", "train_classifier"]

logger = logging.getLogger(__name__)

CLASSIFIER_DIR = "classifier"
EMBEDDING_CACHE_DIR = "embedding-cache"


class _ProbeHead(nn.Module):
    """The classifier's head and logit scale, applied to cached image embeddings."""

    def __init__(self, classifier: ClipClassifier) -> None:
        super().__init__()
        self.head = classifier.head  # shared: training this module trains the classifier's head
        self.logit_scale = classifier.logit_scale

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.logit_scale * nn.functional.linear(embeddings, self.head.weight) + self.head.bias


@dataclass
class _Plan:
    """Module that one method trains, with its training, validation and test data."""

    module: nn.Module
    train_data: Dataset | None
    val_data: Dataset
    test_data: Dataset | None
    before_epoch: Callable[[int], None] = lambda epoch: None
    cache_hits: int = 0
    cache_misses: int = 0
    notes: list[str] = field(default_factory=list)


def _labels_tensor(items) -> torch.Tensor:
    return torch.tensor([item.label_index for item in items], dtype=torch.long)


def _embedding_plan(
    accelerator: Accelerator,
    classifier: ClipClassifier,
    loaded: LoadedClip,
    data: PreparedData,
    options: TrainOptions,
    out_dir: Path,
) -> _Plan:
    """Zero-shot and linear probe: embed every image once with the frozen encoder (cached on disk)."""
    image_processor = loaded.processor.image_processor
    cache_root = options.cache_dir or out_dir / EMBEDDING_CACHE_DIR
    cache = EmbeddingCache(cache_root, model_fingerprint(classifier, image_processor))
    classifier.requires_grad_(False)

    split_data: dict[str, Dataset | None] = {}
    # The main process fills the cache first, so the other processes only read it.
    with accelerator.main_process_first():
        for split, items in data.splits.items():
            if not items:
                split_data[split] = None
                continue
            embeddings = cache.embeddings(
                classifier,
                image_processor,
                items,
                batch_size=options.batch_size,
                device=accelerator.device,
                show_progress=accelerator.is_main_process,
                description=f"embedding {split} images",
            )
            split_data[split] = TensorDataset(embeddings, _labels_tensor(items))
    logger.info("embedding cache %s: %d hits, %d misses", cache.directory, cache.hits, cache.misses)

    probe = _ProbeHead(classifier)
    probe.head.requires_grad_(options.method is TrainMethod.LINEAR_PROBE)
    return _Plan(
        module=probe,
        train_data=split_data["train"],
        val_data=split_data["val"],
        test_data=split_data["test"],
        cache_hits=cache.hits,
        cache_misses=cache.misses,
    )


def _set_fine_tune_trainable(classifier: ClipClassifier, trainable_blocks: int | None) -> None:
    """Freeze the classifier except the last ``trainable_blocks`` encoder blocks (None: the whole tower) and the head.

    The post-layernorm and the visual projection sit after the last block, so they train
    whenever at least one block does. The logit scale stays frozen.
    """
    classifier.requires_grad_(False)
    layers = classifier.vision_model.encoder.layers
    if trainable_blocks is None:
        classifier.vision_model.requires_grad_(True)
        block_count = len(layers)
    else:
        block_count = min(trainable_blocks, len(layers))
        if trainable_blocks > len(layers):
            logger.info("the vision tower has %d blocks; training all of them", len(layers))
        for layer in layers[len(layers) - block_count :]:
            layer.requires_grad_(True)
    if block_count > 0:
        classifier.vision_model.post_layernorm.requires_grad_(True)
        classifier.visual_projection.requires_grad_(True)
    classifier.head.requires_grad_(True)
    classifier.logit_scale.requires_grad_(False)


def _fine_tune_plan(classifier: ClipClassifier, loaded: LoadedClip, data: PreparedData, options: TrainOptions) -> _Plan:
    image_processor = loaded.processor.image_processor
    _set_fine_tune_trainable(classifier, options.trainable_blocks)
    train_data = LabelledImageDataset(data.splits["train"], image_processor, augment=True, seed=options.seed)

    def before_epoch(epoch: int) -> None:
        train_data.epoch = epoch

    test_items = data.splits["test"]
    return _Plan(
        module=classifier,
        train_data=train_data,
        val_data=LabelledImageDataset(data.splits["val"], image_processor),
        test_data=LabelledImageDataset(test_items, image_processor) if test_items else None,
        before_epoch=before_epoch,
    )


def _cpu_state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().cpu().clone() for name, tensor in module.state_dict().items()}


def train_classifier(prepared_dir: Path, model: LoadedClip, options: TrainOptions, out_dir: Path) -> TrainResult:
    """Train (or, for zero-shot, build) a ClipClassifier and write it with its result into ``out_dir``.

    Writes ``out_dir/classifier/`` (ClipClassifier.save), ``out_dir/train_result.json``,
    ``out_dir/checkpoints/last.pt`` after each epoch and codecarbon's ``emissions.csv``.
    """
    out_dir = Path(out_dir)
    accelerator = Accelerator(dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=options.seed))
    set_seed(options.seed)
    is_main = accelerator.is_main_process
    if is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()

    data = read_prepared(prepared_dir)
    logger.info(
        "training %s on %s with %s (%s weights), %d processes, output %s",
        options.method.value,
        data.root,
        model.source_id,
        model.weights.value,
        accelerator.num_processes,
        out_dir,
    )
    meter = EnergyMeter(out_dir, options.country_iso_code, enabled=options.measure_energy and is_main)
    meter.start()
    wall_start = time.perf_counter()

    head = zero_shot_head(model.model, model.processor, data.classes, options.templates)
    classifier = ClipClassifier.from_clip(
        model.model,
        data.classes,
        head,
        source_id=model.source_id,
        revision=model.revision,
        weights=model.weights,
        resize_shortest_edge_px=model.processor.image_processor.size.get("shortest_edge"),
    ).to(accelerator.device)

    if options.method is TrainMethod.FINE_TUNE:
        plan = _fine_tune_plan(classifier, model, data, options)
    else:
        plan = _embedding_plan(accelerator, classifier, model, data, options, out_dir)

    state, resumed_from_epoch = _run_epochs(accelerator, plan, data, options, out_dir)

    test_loader = None
    if plan.test_data is not None:
        test_loader = accelerator.prepare(DataLoader(plan.test_data, batch_size=options.batch_size))
    evaluation_module = plan.module.to(accelerator.device)
    test_accuracy = evaluate(accelerator, evaluation_module, test_loader)[1] if test_loader is not None else None
    duration_s = time.perf_counter() - wall_start
    reading = meter.stop()

    result = TrainResult(
        method=options.method.value,
        labels=data.classes,
        source_model={"id": model.source_id, "revision": model.revision, "weights": model.weights.value},
        weights=model.weights.value,
        epochs_run=state.epoch,
        best_epoch=state.best_epoch,
        stopped_early=state.stopped_early,
        resumed_from_epoch=resumed_from_epoch,
        best_val_accuracy=state.best_val_accuracy,
        best_val_loss=state.best_val_loss,
        test_accuracy=test_accuracy,
        num_images={split: data.count(split) for split in data.splits},
        duration_s=duration_s,
        energy_kwh=reading.energy_kwh,
        co2_kg=reading.co2_kg,
        energy_note=reading.note,
        classifier_dir=str(out_dir / CLASSIFIER_DIR),
        embedding_cache_hits=plan.cache_hits,
        embedding_cache_misses=plan.cache_misses,
        history=state.history,
        options=options.to_dict(),
    )
    if is_main:
        classifier.cpu().save(out_dir / CLASSIFIER_DIR)
        result.save(out_dir / TRAIN_RESULT_FILE)
    accelerator.wait_for_everyone()

    kind_note = "" if model.weights.value == "pretrained" else f" ({model.weights.value} weights: says nothing about CLIP)"
    logger.info(
        "finished %s in %.1f s: %d epochs, best validation accuracy %.3f%s; wrote %s",
        options.method.value,
        duration_s,
        state.epoch,
        state.best_val_accuracy,
        kind_note,
        out_dir,
    )
    return result


def _run_epochs(
    accelerator: Accelerator, plan: _Plan, data: PreparedData, options: TrainOptions, out_dir: Path
) -> tuple[TrainingState, int | None]:
    """Train with early stopping, checkpointing each epoch; leave the best weights in ``plan.module``.

    Zero-shot only evaluates the validation split. Returns the final state and the epoch a
    resumed run started from (None when not resumed).
    """
    state = TrainingState()
    val_loader = accelerator.prepare(DataLoader(plan.val_data, batch_size=options.batch_size))

    if options.method is TrainMethod.ZERO_SHOT or plan.train_data is None:
        plan.module.to(accelerator.device)
        val_loss, val_accuracy = evaluate(accelerator, plan.module, val_loader)
        state.best_val_accuracy = val_accuracy
        state.best_val_loss = val_loss
        return state, None

    trainable = [parameter for parameter in plan.module.parameters() if parameter.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=options.learning_rate, weight_decay=options.weight_decay)
    train_loader = DataLoader(plan.train_data, batch_size=options.batch_size, shuffle=True)
    module, optimizer, train_loader = accelerator.prepare(plan.module, optimizer, train_loader)
    unwrapped = accelerator.unwrap_model(module)
    best_module_state = _cpu_state(unwrapped)

    resumed_from_epoch = None
    checkpoint_path = out_dir / CHECKPOINT_FILE
    if options.resume and checkpoint_path.is_file():
        payload = load_checkpoint(checkpoint_path, method=options.method.value, labels=data.classes)
        unwrapped.load_state_dict(payload["module_state"])
        optimizer.load_state_dict(payload["optimizer_state"])
        best_module_state = payload["best_module_state"]
        state = payload["state"]
        resumed_from_epoch = state.epoch
        logger.info("resuming from %s after epoch %d", checkpoint_path, state.epoch)
    elif options.resume:
        logger.warning("--resume: no checkpoint at %s; training from the first epoch", checkpoint_path)

    while state.epoch < options.epochs and not state.stopped_early:
        epoch = state.epoch + 1
        epoch_start = time.perf_counter()
        train_loader.set_epoch(epoch)
        plan.before_epoch(epoch)

        train_loss = train_one_epoch(accelerator, module, optimizer, train_loader, description=f"epoch {epoch}/{options.epochs}")
        val_loss, val_accuracy = evaluate(accelerator, module, val_loader)
        record = EpochRecord(epoch=epoch, train_loss=train_loss, val_loss=val_loss, val_accuracy=val_accuracy)

        state.history.append(record)
        state.epoch = epoch
        if state.improved_by(record):
            state.best_epoch = epoch
            state.best_val_accuracy = val_accuracy
            state.best_val_loss = val_loss
            state.bad_epochs = 0
            best_module_state = _cpu_state(unwrapped)
        else:
            state.bad_epochs += 1
            state.stopped_early = state.bad_epochs >= options.patience
        state.duration_s += time.perf_counter() - epoch_start

        if accelerator.is_main_process:
            save_checkpoint(
                checkpoint_path,
                method=options.method.value,
                labels=data.classes,
                state=state,
                module_state=_cpu_state(unwrapped),
                best_module_state=best_module_state,
                optimizer_state=optimizer.state_dict(),
            )
        accelerator.wait_for_everyone()
        logger.info(
            "epoch %d/%d: train loss %.4f, validation loss %.4f, validation accuracy %.3f%s",
            epoch,
            options.epochs,
            train_loss,
            val_loss,
            val_accuracy,
            "" if not state.stopped_early else f" (no improvement for {options.patience} epochs: stopping)",
        )

    unwrapped.load_state_dict(best_module_state)
    plan.module = unwrapped
    return state, resumed_from_epoch
