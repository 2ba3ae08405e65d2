"""Tests of the ``frugalclip`` command line: help of every command, and ``export``'s exit codes and output."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from frugalclip_device.bundle import load_bundle
from frugalclip_host.cli import app

runner = CliRunner()


def _command_paths() -> list[list[str]]:
    """Return the argument path of every command and sub-command, e.g. ["bench", "run"]."""
    paths = []

    # typer 0.29 ships its own copy of click, so groups are recognised by their ``commands``.
    def walk(command: object, prefix: list[str]) -> None:
        for name, sub_command in getattr(command, "commands", {}).items():
            paths.append(prefix + [name])
            walk(sub_command, prefix + [name])

    walk(typer.main.get_command(app), [])
    return paths


def test_root_help_exits_zero() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    assert "export" in result.output


@pytest.mark.parametrize("command", _command_paths(), ids=" ".join)
def test_command_help_exits_zero(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output


def test_expected_commands_registered() -> None:
    names = {path[0] for path in _command_paths()}
    assert {"prepare", "train", "to-onnx", "quantize", "export"} <= names


def test_export_unknown_variant_exits_two(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["export", "--variants", "int4-magic", "--work-dir", str(tmp_path / "work"), "--out-root", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "int4-magic" in result.stderr
    assert "Traceback" not in result.output


def test_export_error_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["export", "--variants", "int4-magic", "--work-dir", str(tmp_path / "work"), "--out-root", str(tmp_path)]
    )
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_export_failing_step_exits_two(tmp_path: Path) -> None:
    # One class only: the prepare step rejects it.
    source = tmp_path / "source" / "cat"
    source.mkdir(parents=True)
    for index in range(6):
        Image.new("RGB", (240, 240), (40 * index, 90, 120)).save(source / f"cat-{index}.png")

    result = runner.invoke(
        app,
        ["export", "--data", str(tmp_path / "source"), "--work-dir", str(tmp_path / "work"), "--out-root", str(tmp_path / "models")],
    )
    assert result.exit_code == 2
    assert "prepare failed" in result.stderr
    assert "Traceback" not in result.output


def test_export_missing_data_exits_two(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "--data", str(tmp_path / "absent")])
    assert result.exit_code == 2
    assert "absent" in result.stderr


@pytest.mark.slow
def test_export_tiny_end_to_end(tiny_clip_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "export",
            "--model",
            str(tiny_clip_dir),
            "--name",
            "tiny-demo",
            "--out-root",
            str(tmp_path / "models"),
            "--work-dir",
            str(tmp_path / "work"),
            "--variants",
            "int8-dynamic-pi5",
            "--epochs",
            "1",
            "--only-default",
            # One epoch of a random-init model: quantization may flip a few of its guesses.
            "--budget-points",
            "100",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "bundle written" in result.stdout
    assert "(tiny random-init model: not a measure of CLIP accuracy)" in result.stdout
    bundle = load_bundle(tmp_path / "models" / "tiny-demo")
    assert list(bundle.variants) == [bundle.default_variant]
