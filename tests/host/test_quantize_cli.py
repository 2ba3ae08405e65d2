"""The `to-onnx` and `quantize` commands, run through typer on the tiny classifier."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import typer
from transformers import CLIPModel
from typer.testing import CliRunner

from frugalclip_host.classifier import ClipClassifier
from frugalclip_host.cli_export_steps import EXPORT_STEP_ERROR_EXIT_CODE, list_images, register
from frugalclip_host.weights_kind import WeightsKind

LABELS = ("astronaut", "cat", "coffee")


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    application = typer.Typer()
    register(application)
    return application


@pytest.fixture(scope="module")
def classifier_dir(tiny_clip_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    clip = CLIPModel.from_pretrained(tiny_clip_dir)
    head = torch.nn.functional.normalize(torch.randn(3, clip.config.projection_dim, generator=torch.Generator().manual_seed(0)), dim=-1)
    classifier = ClipClassifier.from_clip(clip, list(LABELS), head, weights=WeightsKind.TINY_RANDOM_INIT)
    directory = tmp_path_factory.mktemp("classifier") / "classifier"
    classifier.save(directory)
    return directory


@pytest.fixture(scope="module")
def fp32_from_cli(app: typer.Typer, classifier_dir: Path, prepared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "model-fp32.onnx"
    result = CliRunner().invoke(app, ["to-onnx", str(classifier_dir), "--out", str(out), "--parity-images", str(prepared_dir / "test")])
    assert result.exit_code == 0, result.output
    return out


def test_to_onnx_writes_file(fp32_from_cli: Path) -> None:
    assert fp32_from_cli.stat().st_size > 0


def test_to_onnx_reports_parity(app: typer.Typer, classifier_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["to-onnx", str(classifier_dir), "--out", str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.output
    assert "parity with PyTorch" in result.output
    assert "tiny-random-init" in result.output


def test_to_onnx_missing_dir_exits_2(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["to-onnx", str(tmp_path / "absent"), "--out", str(tmp_path / "m.onnx")])
    assert result.exit_code == EXPORT_STEP_ERROR_EXIT_CODE
    assert "classifier file not found" in result.output
    assert "Traceback" not in result.output


def test_to_onnx_help_names_defaults(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["to-onnx", "--help"])
    assert result.exit_code == 0
    assert "0.0001" in result.output


def test_quantize_writes_each_variant(app: typer.Typer, fp32_from_cli: Path, prepared_dir: Path, tmp_path: Path) -> None:
    arguments = [
        "quantize", str(fp32_from_cli), "--out", str(tmp_path),
        "--variants", "fp16,int8-dynamic-pi5,int8-static-pi5",
        "--calibration-dir", str(prepared_dir / "train"),
        "--calibration-images", "6",
        "--calibration-method", "percentile",
    ]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "model-fp16.onnx",
        "model-int8-dynamic-pi5.onnx",
        "model-int8-static-pi5.onnx",
    ]


def test_quantize_static_without_calibration_exits_2(app: typer.Typer, fp32_from_cli: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["quantize", str(fp32_from_cli), "--out", str(tmp_path), "--variants", "int8-static-pi5"])
    assert result.exit_code == EXPORT_STEP_ERROR_EXIT_CODE
    assert "--calibration-dir" in result.output


def test_quantize_unknown_variant_lists_names(app: typer.Typer, fp32_from_cli: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["quantize", str(fp32_from_cli), "--out", str(tmp_path), "--variants", "int4"])
    assert result.exit_code == EXPORT_STEP_ERROR_EXIT_CODE
    assert "int8-dynamic-pi5" in result.output


def test_quantize_bad_exclusion_exits_2(app: typer.Typer, fp32_from_cli: Path, tmp_path: Path) -> None:
    arguments = ["quantize", str(fp32_from_cli), "--out", str(tmp_path), "--variants", "fp16,int8-dynamic-pi4", "--exclude-nodes", "no_such_node"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == EXPORT_STEP_ERROR_EXIT_CODE
    assert "no_such_node" in result.output


def test_list_images_alternates_classes(prepared_dir: Path) -> None:
    paths = list_images(prepared_dir / "train", limit=6)
    assert [path.parent.name for path in paths] == list(LABELS) * 2


def test_list_images_empty_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no images"):
        list_images(tmp_path)
