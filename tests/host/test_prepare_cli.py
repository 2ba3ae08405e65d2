"""Tests of the ``prepare`` CLI command through Typer's runner."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from data_fixtures import write_photo_tree
from typer.testing import CliRunner

from frugalclip_host.cli_prepare import DATA_ERROR_EXIT_CODE, register


@pytest.fixture()
def app() -> typer.Typer:
    application = typer.Typer()

    @application.callback()
    def main() -> None:
        """Test root."""

    register(application)
    return application


def test_help_lists_units_defaults(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["prepare", "--help"], env={"COLUMNS": "200"})

    assert result.exit_code == 0
    assert "--max-side-px" in result.output
    assert "pixels" in result.output
    assert "[default: 512]" in result.output
    assert "[default: 4]" in result.output


def test_data_error_one_line_exit_2(app: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["prepare", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")])
    lines = result.output.strip().splitlines()

    assert result.exit_code == DATA_ERROR_EXIT_CODE
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: source folder")
    assert "Traceback" not in result.output


def test_invalid_option_exit_2(app: typer.Typer, tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 4, "dog": 4})
    result = CliRunner().invoke(
        app, ["prepare", str(source), "--out", str(tmp_path / "out"), "--val-fraction", "0.9", "--test-fraction", "0.2"]
    )

    assert result.exit_code == DATA_ERROR_EXIT_CODE
    assert "no training images" in result.output


def test_prepare_writes_output(app: typer.Typer, tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 5, "dog": 5})
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["prepare", str(source), "--out", str(out), "--max-side-px", "64", "--min-side-px", "32"]
    )

    assert result.exit_code == 0, result.output
    assert (out / "data_report.json").is_file()
    assert len(list(out.glob("*/*/*.jpg"))) == 10
