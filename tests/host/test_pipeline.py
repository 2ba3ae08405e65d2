"""Tests of the export pipeline: the whole run on the demo photos with the tiny CLIP, and its failure modes.

Every metric in these runs comes from a tiny random-init model: the tests check that the
numbers are consistent, never that they are good.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from frugalclip_device.bundle import load_bundle
from frugalclip_host import bundle_writer
from frugalclip_host.pipeline import (
    DEFAULT_VARIANTS,
    TINY_EPOCHS,
    ExportOptions,
    PipelineError,
    PipelineStep,
    run_export,
    training_options,
)
from frugalclip_host.train import TrainMethod, TrainOptions
from frugalclip_host.weights_kind import WeightsKind

MISSING_HUB_ID = "frugalclip-tests/no-such-model"


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One full export of the demo photos, falling back to the tiny CLIP because the Hub id does not exist."""
    root = tmp_path_factory.mktemp("pipeline")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        options = ExportOptions(
            model=MISSING_HUB_ID,
            fallback_tiny=True,
            out_root=root / "models",
            work_dir=root / "work",
            epochs=2,
        )
        result = run_export(options)
    return {"root": root, "options": options, "result": result}


@pytest.mark.slow
def test_export_bundle_loads(demo_export: dict) -> None:
    bundle = load_bundle(demo_export["result"].bundle_dir)
    assert bundle.path == demo_export["root"] / "models" / "demo"


@pytest.mark.slow
def test_export_bundle_has_every_variant(demo_export: dict) -> None:
    bundle = load_bundle(demo_export["result"].bundle_dir)
    assert sorted(bundle.variants) == sorted(["fp32", *DEFAULT_VARIANTS])


@pytest.mark.slow
def test_export_labels_are_demo_classes(demo_export: dict) -> None:
    assert load_bundle(demo_export["result"].bundle_dir).labels == ["face", "non-face"]


@pytest.mark.slow
def test_export_fell_back_to_tiny(demo_export: dict) -> None:
    result = demo_export["result"]
    assert result.fell_back
    assert result.weights is WeightsKind.TINY_RANDOM_INIT


@pytest.mark.slow
def test_export_manifest_weights_label(demo_export: dict) -> None:
    assert load_bundle(demo_export["result"].bundle_dir).weights == "tiny-random-init"


@pytest.mark.slow
def test_export_caveat_on_metrics(demo_export: dict) -> None:
    result = demo_export["result"]
    assert "not a measure of CLIP accuracy" in result.caveat
    assert result.caveat in result.table.render_markdown()


@pytest.mark.slow
def test_export_tiny_trains_all_blocks(demo_export: dict) -> None:
    training = load_bundle(demo_export["result"].bundle_dir).manifest["training"]
    assert training["method"] == "fine-tune"
    assert training["trainable_blocks"] == "all"
    assert training["epochs"] <= 2


@pytest.mark.slow
def test_export_manifest_metrics_match_table(demo_export: dict) -> None:
    result = demo_export["result"]
    bundle = load_bundle(result.bundle_dir)
    for name, row in result.table.rows.items():
        assert bundle.variants[name].metrics["accuracy"] == row.metrics.accuracy, name


@pytest.mark.slow
def test_export_default_is_chosen_variant(demo_export: dict) -> None:
    result = demo_export["result"]
    assert load_bundle(result.bundle_dir).default_variant == result.choice.variant


@pytest.mark.slow
def test_export_test_split_size(demo_export: dict) -> None:
    result = demo_export["result"]
    manifest = load_bundle(result.bundle_dir).manifest
    assert result.table.test_count == manifest["data"]["split_sizes"]["test"]


@pytest.mark.slow
def test_export_times_every_step(demo_export: dict) -> None:
    assert list(demo_export["result"].step_seconds) == list(PipelineStep)


@pytest.mark.slow
def test_export_parity_within_tolerance(demo_export: dict) -> None:
    parity = demo_export["result"].parity
    assert parity.max_abs_difference <= parity.tolerance


@pytest.mark.slow
def test_failed_bundle_step_keeps_previous(demo_export: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    models = demo_export["root"] / "models"
    before = json.loads((models / "demo" / "manifest.json").read_text())

    def fail_card(*args: object, **kwargs: object) -> str:
        raise OSError("disk full (simulated)")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(bundle_writer, "render_model_card", fail_card)
    options = ExportOptions(
        model=MISSING_HUB_ID,
        fallback_tiny=True,
        out_root=models,
        work_dir=demo_export["root"] / "work-rerun",
        epochs=1,
        variants=[],
    )
    with pytest.raises(PipelineError, match="bundle failed: disk full") as caught:
        run_export(options)

    assert caught.value.step is PipelineStep.BUNDLE
    assert json.loads((models / "demo" / "manifest.json").read_text()) == before
    assert load_bundle(models / "demo").manifest == before
    assert sorted(path.name for path in models.iterdir()) == ["demo"]


def test_unknown_variant_rejected_before_work(tmp_path: Path) -> None:
    options = ExportOptions(variants=["int4-magic"], work_dir=tmp_path / "work", out_root=tmp_path / "models")
    with pytest.raises(ValueError, match="int4-magic"):
        run_export(options)
    assert not (tmp_path / "work").exists()


def test_missing_data_folder_rejected(tmp_path: Path) -> None:
    options = ExportOptions(data=tmp_path / "absent", work_dir=tmp_path / "work", out_root=tmp_path / "models")
    with pytest.raises(ValueError, match="absent"):
        run_export(options)


def test_invalid_name_rejected(tmp_path: Path) -> None:
    options = ExportOptions(name="../up", work_dir=tmp_path / "work", out_root=tmp_path / "models")
    with pytest.raises(ValueError, match="invalid bundle name"):
        run_export(options)


def test_name_defaults_to_data_folder(tmp_path: Path) -> None:
    assert ExportOptions(data=tmp_path / "trashnet").resolved_name() == "trashnet"


def test_name_defaults_to_demo() -> None:
    assert ExportOptions().resolved_name() == "demo"


def test_work_dir_defaults_to_name() -> None:
    assert ExportOptions(name="cats").resolved_work_dir() == Path("work") / "cats"


def test_tiny_weights_train_all_blocks() -> None:
    train_options = training_options(ExportOptions(), WeightsKind.TINY_RANDOM_INIT)
    assert train_options.method is TrainMethod.FINE_TUNE
    assert train_options.trainable_blocks is None


def test_tiny_weights_train_longer() -> None:
    assert training_options(ExportOptions(), WeightsKind.TINY_RANDOM_INIT).epochs == TINY_EPOCHS


def test_tiny_weights_keep_chosen_method() -> None:
    options = ExportOptions(method=TrainMethod.LINEAR_PROBE, epochs=3)
    train_options = training_options(options, WeightsKind.TINY_RANDOM_INIT)
    assert train_options.method is TrainMethod.LINEAR_PROBE
    assert train_options.epochs == 3


def test_pretrained_weights_default_to_linear_probe() -> None:
    assert training_options(ExportOptions(), WeightsKind.PRETRAINED).method is TrainMethod.LINEAR_PROBE


def test_pretrained_fine_tune_keeps_block_default() -> None:
    options = ExportOptions(method=TrainMethod.FINE_TUNE)
    train_options = training_options(options, WeightsKind.PRETRAINED)
    assert train_options.trainable_blocks == TrainOptions().trainable_blocks
