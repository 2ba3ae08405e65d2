"""train_classifier on the tiny CLIP: methods, embedding cache, early stopping, resume, energy.

The tiny CLIP has random weights: the accuracies here only show that training runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from frugalclip_host.classifier import ClipClassifier
from frugalclip_host.model_source import LoadedClip, load_clip
from frugalclip_host.train import TRAIN_RESULT_FILE, TrainMethod, TrainOptions, TrainResult, train_classifier
from frugalclip_host.train.checkpoint import CHECKPOINT_FILE
from frugalclip_host.train.energy import EMISSIONS_FILE

TOTAL_IMAGES = 48  # 3 classes x (8 train + 4 val + 4 test), see conftest.write_prepared_folder


@pytest.fixture(scope="module")
def tiny_clip(tiny_clip_dir: Path) -> LoadedClip:
    return load_clip(str(tiny_clip_dir))


def _probe_options(**changes) -> TrainOptions:
    settings = {"method": TrainMethod.LINEAR_PROBE, "epochs": 2, "batch_size": 8, "lr": 1e-2, "measure_energy": False}
    settings.update(changes)
    return TrainOptions(**settings)


def test_zero_shot_writes_classifier(prepared_dir: Path, tiny_clip: LoadedClip, tmp_path: Path) -> None:
    result = train_classifier(prepared_dir, tiny_clip, _probe_options(method=TrainMethod.ZERO_SHOT), tmp_path)
    loaded = ClipClassifier.load(tmp_path / "classifier")
    assert result.epochs_run == 0
    assert loaded.labels == ["astronaut", "cat", "coffee"]
    assert 0.0 <= result.best_val_accuracy <= 1.0


def test_zero_shot_head_is_prompt_head(prepared_dir: Path, tiny_clip: LoadedClip, tmp_path: Path) -> None:
    from frugalclip_host.classifier import zero_shot_head

    train_classifier(prepared_dir, tiny_clip, _probe_options(method=TrainMethod.ZERO_SHOT), tmp_path)
    loaded = ClipClassifier.load(tmp_path / "classifier")
    expected = zero_shot_head(tiny_clip.model, tiny_clip.processor, ["astronaut", "cat", "coffee"])
    assert torch.allclose(loaded.head.weight, expected, atol=1e-6)


def test_linear_probe_result_file(prepared_dir: Path, tiny_clip: LoadedClip, tmp_path: Path) -> None:
    train_classifier(prepared_dir, tiny_clip, _probe_options(), tmp_path)
    raw = json.loads((tmp_path / TRAIN_RESULT_FILE).read_text(encoding="utf-8"))
    assert raw["method"] == "linear-probe"
    assert raw["epochs_run"] == 2
    assert raw["weights"] == "tiny-random-init"
    assert raw["num_images"] == {"train": 24, "val": 12, "test": 12}


def test_linear_probe_changes_only_head(prepared_dir: Path, tiny_clip: LoadedClip, tmp_path: Path) -> None:
    train_classifier(prepared_dir, tiny_clip, _probe_options(), tmp_path)
    trained = ClipClassifier.load(tmp_path / "classifier")
    original = tiny_clip.model.vision_model.encoder.layers[0].mlp.fc1.weight
    assert torch.equal(trained.vision_model.encoder.layers[0].mlp.fc1.weight, original)
    assert not torch.equal(trained.head.bias, torch.zeros(3))


def test_linear_probe_cache_reused(prepared_dir: Path, tiny_clip: LoadedClip, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = train_classifier(prepared_dir, tiny_clip, _probe_options(cache_dir=cache), tmp_path / "first")
    second = train_classifier(prepared_dir, tiny_clip, _probe_options(cache_dir=cache), tmp_path / "second")
    assert first.embedding_cache_misses == TOTAL_IMAGES
    assert second.embedding_cache_misses == 0
    assert second.embedding_cache_hits == TOTAL_IMAGES


def test_linear_probe_cache_keyed_by_model(prepared_dir: Path, tmp_path: Path) -> None:
    from frugalclip_host.tiny_clip import build_tiny_clip

    cache = tmp_path / "cache"
    other_seed = load_clip(str(build_tiny_clip(tmp_path / "other", seed=1)))
    train_classifier(prepared_dir, load_clip(str(build_tiny_clip(tmp_path / "base"))), _probe_options(cache_dir=cache), tmp_path / "a")
    result = train_classifier(prepared_dir, other_seed, _probe_options(cache_dir=cache), tmp_path / "b")
    assert result.embedding_cache_hits == 0


def test_same_seed_same_head(prepared_dir: Path, tiny_clip: LoadedClip, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    train_classifier(prepared_dir, tiny_clip, _probe_options(cache_dir=cache), tmp_path / "a")
    train_classifier(prepared_dir, tiny_clip, _probe_options(cache_dir=cache), tmp_path / "b")
    first = ClipClassifier.load(tmp_path / "a" / "classifier")
    second = ClipClassifier.load(tmp_path / "b" / "classifier")
    assert torch.equal(first.head.weight, second.head.weight)


def test_early_stopping_stops(prepared_dir: Path, tiny_clip: LoadedClip, tmp_path: Path) -> None:
    # A learning rate far below float32 resolution leaves the head unchanged, so no epoch improves.
    options = _probe_options(epochs=6, patience=2, lr=1e-30)
    result = train_classifier(prepared_dir, tiny_clip, options, tmp_path)
    assert result.stopped_early is True
    assert result.epochs_run == 3
    assert result.best_epoch == 1


def test_resume_continues_from_checkpoint(prepared_dir: Path, tiny_clip: LoadedClip, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    train_classifier(prepared_dir, tiny_clip, _probe_options(epochs=1, cache_dir=cache), tmp_path / "resumed")
    assert (tmp_path / "resumed" / CHECKPOINT_FILE).is_file()
    resumed = train_classifier(
        prepared_dir, tiny_clip, _probe_options(epochs=3, resume=True, cache_dir=cache), tmp_path / "resumed"
    )
    straight = train_classifier(prepared_dir, tiny_clip, _probe_options(epochs=3, cache_dir=cache), tmp_path / "straight")
    assert resumed.resumed_from_epoch == 1
    assert resumed.epochs_run == 3
    assert [record.val_loss for record in resumed.history] == [record.val_loss for record in straight.history]


def test_resume_same_weights_as_straight_run(prepared_dir: Path, tiny_clip: LoadedClip, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    train_classifier(prepared_dir, tiny_clip, _probe_options(epochs=1, cache_dir=cache), tmp_path / "resumed")
    train_classifier(prepared_dir, tiny_clip, _probe_options(epochs=2, resume=True, cache_dir=cache), tmp_path / "resumed")
    train_classifier(prepared_dir, tiny_clip, _probe_options(epochs=2, cache_dir=cache), tmp_path / "straight")
    resumed = ClipClassifier.load(tmp_path / "resumed" / "classifier")
    straight = ClipClassifier.load(tmp_path / "straight" / "classifier")
    assert torch.allclose(resumed.head.weight, straight.head.weight, atol=1e-7)


def test_resume_other_method_rejected(prepared_dir: Path, tiny_clip: LoadedClip, tmp_path: Path) -> None:
    train_classifier(prepared_dir, tiny_clip, _probe_options(epochs=1), tmp_path)
    options = TrainOptions(method=TrainMethod.FINE_TUNE, epochs=1, batch_size=8, resume=True, measure_energy=False)
    with pytest.raises(ValueError, match="linear-probe"):
        train_classifier(prepared_dir, tiny_clip, options, tmp_path)


def test_codecarbon_figures_present(prepared_dir: Path, tiny_clip: LoadedClip, tmp_path: Path) -> None:
    result = train_classifier(prepared_dir, tiny_clip, _probe_options(epochs=1, measure_energy=True), tmp_path)
    saved = TrainResult.load(tmp_path / TRAIN_RESULT_FILE)
    assert result.energy_kwh is not None and result.energy_kwh > 0
    assert result.co2_kg is not None and result.co2_kg > 0
    assert "codecarbon" in saved.energy_note
    assert "estimate" in saved.energy_note
    assert (tmp_path / EMISSIONS_FILE).is_file()


def test_energy_disabled_reports_none(prepared_dir: Path, tiny_clip: LoadedClip, tmp_path: Path) -> None:
    result = train_classifier(prepared_dir, tiny_clip, _probe_options(epochs=1), tmp_path)
    assert result.energy_kwh is None
    assert "not measured" in result.energy_note


@pytest.mark.slow
def test_fine_tune_trains_last_block_only(prepared_dir: Path, tiny_clip: LoadedClip, tmp_path: Path) -> None:
    options = TrainOptions(
        method=TrainMethod.FINE_TUNE, epochs=1, batch_size=8, lr=1e-3, trainable_blocks=1, measure_energy=False
    )
    result = train_classifier(prepared_dir, tiny_clip, options, tmp_path)
    trained = ClipClassifier.load(tmp_path / "classifier")
    original_layers = tiny_clip.model.vision_model.encoder.layers
    assert result.epochs_run == 1
    assert torch.equal(trained.vision_model.encoder.layers[0].mlp.fc1.weight, original_layers[0].mlp.fc1.weight)
    assert not torch.equal(trained.vision_model.encoder.layers[1].mlp.fc1.weight, original_layers[1].mlp.fc1.weight)


def test_options_reject_bad_country() -> None:
    with pytest.raises(ValueError, match="alpha-3"):
        TrainOptions(country_iso_code="fr")


def test_missing_classes_file_names_path(tiny_clip: LoadedClip, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="classes.json"):
        train_classifier(tmp_path / "absent", tiny_clip, _probe_options(), tmp_path / "out")
