"""Tests of bundle writing: the device reader loads it, checksums catch tampering, swaps are atomic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bundle_fixtures import (
    COLOUR_LABELS,
    confused_colour_weight,
    good_colour_weight,
    write_colour_classifier,
    write_data_report,
)

from frugalclip_device.bundle import BundleError, load_bundle
from frugalclip_device.bundle_format import sha256_file
from frugalclip_device.contract import PreprocessContract
from frugalclip_device.session import Classifier
from frugalclip_host import bundle_writer
from frugalclip_host.bundle_writer import BundleVariant, BundleWriteError, write_bundle
from frugalclip_host.model_card import metrics_caveat

SOURCE_MODEL = {"id": "test/colour-classifier", "revision": None, "weights": "tiny-random-init"}
TRAINING = {"method": "fine-tune", "epochs": 2, "energy_kwh": 1e-6, "co2_kg": 5e-8}


@pytest.fixture
def inputs(tmp_path: Path) -> dict:
    """Two model files and a data report, as the pipeline would pass them."""
    work = tmp_path / "work"
    variants = {
        "fp32": BundleVariant(
            write_colour_classifier(work / "fp32.onnx", good_colour_weight()),
            metrics={"accuracy": 1.0, "macro_f1": 1.0, "agreement_with_fp32": 1.0},
        ),
        "int8-dynamic-pi5": BundleVariant(
            write_colour_classifier(work / "int8.onnx", confused_colour_weight()),
            metrics={"accuracy": 0.5, "macro_f1": 0.4, "agreement_with_fp32": 0.5},
            quantization={"mode": "dynamic", "weight_type": "QInt8"},
        ),
    }
    return {
        "variants": variants,
        "labels": list(COLOUR_LABELS),
        "contract": PreprocessContract(),
        "source_model": SOURCE_MODEL,
        "training": TRAINING,
        "data_report_path": write_data_report(work / "data_report.json"),
        "data_summary": {"source": "tinted photos", "split_sizes": {"train": 6, "val": 3, "test": 9}},
    }


def _write(bundle_dir: Path, inputs: dict, **overrides) -> Path:
    arguments = {**inputs, "default_variant": "int8-dynamic-pi5", **overrides}
    return write_bundle(bundle_dir, **arguments)


def _leftovers(models_dir: Path) -> list[str]:
    return sorted(path.name for path in models_dir.iterdir() if path.name.startswith("."))


def test_write_bundle_loads_with_device_reader(tmp_path: Path, inputs: dict) -> None:
    bundle = load_bundle(_write(tmp_path / "models" / "colours", inputs))
    assert bundle.labels == list(COLOUR_LABELS)
    assert sorted(bundle.variants) == ["fp32", "int8-dynamic-pi5"]
    assert bundle.default_variant == "int8-dynamic-pi5"
    assert bundle.weights == "tiny-random-init"


def test_write_bundle_manifest_lists_every_file(tmp_path: Path, inputs: dict) -> None:
    bundle_dir = _write(tmp_path / "models" / "colours", inputs)
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    on_disk = sorted(path.name for path in bundle_dir.iterdir() if path.name != "manifest.json")
    assert sorted(manifest["files"]) == on_disk
    for name, digest in manifest["files"].items():
        assert sha256_file(bundle_dir / name) == digest, name


def test_write_bundle_manifest_fields(tmp_path: Path, inputs: dict) -> None:
    bundle_dir = _write(tmp_path / "models" / "colours", inputs)
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    assert manifest["format_version"] == 1
    assert manifest["name"] == "colours"
    assert manifest["data_report_sha256"] == sha256_file(bundle_dir / "data_report.json")
    assert manifest["variants"]["int8-dynamic-pi5"]["precision"] == "int8"
    assert manifest["variants"]["fp32"]["quantization"] is None
    assert manifest["variants"]["fp32"]["size_bytes"] == (bundle_dir / "model-fp32.onnx").stat().st_size
    assert manifest["libraries"]["onnxruntime"]
    assert manifest["training"]["method"] == "fine-tune"


def test_write_bundle_models_run_in_device_session(tmp_path: Path, inputs: dict) -> None:
    bundle = load_bundle(_write(tmp_path / "models" / "colours", inputs))
    classifier = Classifier.from_bundle(bundle, threads=1)
    assert classifier.num_classes == len(COLOUR_LABELS)


def test_write_bundle_only_default(tmp_path: Path, inputs: dict) -> None:
    bundle = load_bundle(_write(tmp_path / "models" / "colours", inputs, include_all_variants=False))
    assert sorted(bundle.variants) == ["int8-dynamic-pi5"]
    assert not (bundle.path / "model-fp32.onnx").exists()


def test_model_card_warns_on_tiny_weights(tmp_path: Path, inputs: dict) -> None:
    card = (_write(tmp_path / "models" / "colours", inputs) / "MODEL_CARD.md").read_text()
    assert "metrics of a tiny random-init model say nothing about CLIP" in card
    assert metrics_caveat("tiny-random-init") in card


def test_model_card_pretrained_has_no_warning(tmp_path: Path, inputs: dict) -> None:
    pretrained = {**SOURCE_MODEL, "weights": "pretrained"}
    card = (_write(tmp_path / "models" / "colours", inputs, source_model=pretrained) / "MODEL_CARD.md").read_text()
    assert "WARNING" not in card


def test_tampered_model_fails_to_load(tmp_path: Path, inputs: dict) -> None:
    bundle_dir = _write(tmp_path / "models" / "colours", inputs)
    model = bundle_dir / "model-fp32.onnx"
    model.write_bytes(model.read_bytes() + b"\0")
    with pytest.raises(BundleError, match="checksum mismatch"):
        load_bundle(bundle_dir)


def test_tampered_labels_fail_to_load(tmp_path: Path, inputs: dict) -> None:
    bundle_dir = _write(tmp_path / "models" / "colours", inputs)
    (bundle_dir / "labels.json").write_text(json.dumps(["blue", "green", "red"]))
    with pytest.raises(BundleError, match="labels.json"):
        load_bundle(bundle_dir)


def test_rewrite_replaces_previous_bundle(tmp_path: Path, inputs: dict) -> None:
    bundle_dir = tmp_path / "models" / "colours"
    _write(bundle_dir, inputs)
    _write(bundle_dir, inputs, default_variant="fp32", include_all_variants=False)
    bundle = load_bundle(bundle_dir)
    assert bundle.default_variant == "fp32"
    assert not (bundle_dir / "model-int8-dynamic-pi5.onnx").exists()
    assert _leftovers(tmp_path / "models") == []


def test_interrupted_write_keeps_previous_bundle(
    tmp_path: Path, inputs: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle_dir = tmp_path / "models" / "colours"
    _write(bundle_dir, inputs)
    before = json.loads((bundle_dir / "manifest.json").read_text())

    def fail_mid_write(path: Path, payload: object) -> None:
        raise OSError("disk full (simulated)")

    # labels.json is written after the model files and before the manifest.
    monkeypatch.setattr(bundle_writer, "_write_json", fail_mid_write)
    with pytest.raises(OSError, match="simulated"):
        _write(bundle_dir, inputs, default_variant="fp32")
    monkeypatch.undo()

    after = load_bundle(bundle_dir)
    assert after.manifest == before
    assert _leftovers(tmp_path / "models") == []


def test_interrupted_swap_keeps_previous_bundle(
    tmp_path: Path, inputs: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle_dir = tmp_path / "models" / "colours"
    _write(bundle_dir, inputs)
    before = json.loads((bundle_dir / "manifest.json").read_text())
    real_rename = bundle_writer.os.rename

    def fail_second_rename(source: Path, destination: Path) -> None:
        if ".writing-" in str(source):
            raise OSError("rename failed (simulated)")
        real_rename(source, destination)

    monkeypatch.setattr(bundle_writer.os, "rename", fail_second_rename)
    with pytest.raises(OSError, match="simulated"):
        _write(bundle_dir, inputs, default_variant="fp32")
    monkeypatch.undo()

    assert load_bundle(bundle_dir).manifest == before
    assert _leftovers(tmp_path / "models") == []


def test_killed_write_leftovers_are_cleaned(tmp_path: Path, inputs: dict) -> None:
    models = tmp_path / "models"
    bundle_dir = _write(models / "colours", inputs)
    # A process killed between the two renames leaves the old bundle as a backup, and no target.
    bundle_dir.rename(models / ".colours.previous-deadbeef")
    (models / ".colours.writing-cafe0123").mkdir()

    _write(models / "colours", inputs, default_variant="fp32")
    assert load_bundle(models / "colours").default_variant == "fp32"
    assert _leftovers(models) == []


def test_refuses_to_replace_foreign_folder(tmp_path: Path, inputs: dict) -> None:
    target = tmp_path / "models" / "colours"
    target.mkdir(parents=True)
    (target / "notes.txt").write_text("not a bundle")
    with pytest.raises(BundleWriteError, match="not a frugalclip bundle"):
        _write(target, inputs)
    assert (target / "notes.txt").read_text() == "not a bundle"


def test_unknown_default_variant_rejected(tmp_path: Path, inputs: dict) -> None:
    with pytest.raises(BundleWriteError, match="default variant 'fp16'"):
        _write(tmp_path / "models" / "colours", inputs, default_variant="fp16")


def test_invalid_bundle_name_rejected(tmp_path: Path, inputs: dict) -> None:
    with pytest.raises(BundleWriteError, match="invalid bundle name"):
        _write(tmp_path / "models" / "colours", inputs, name="../escape")
