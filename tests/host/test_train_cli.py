"""`frugalclip train` and the accelerate multi-process run, on the tiny CLIP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from frugalclip_host.cli import app
from frugalclip_host.cli_train import TRAIN_ERROR_EXIT_CODE

runner = CliRunner()


def test_train_cli_linear_probe(prepared_dir: Path, tiny_clip_dir: Path, tmp_path: Path) -> None:
    arguments = ["train", str(prepared_dir), "--out", str(tmp_path), "--model", str(tiny_clip_dir)]
    arguments += ["--epochs", "1", "--batch-size", "8", "--no-energy"]
    outcome = runner.invoke(app, arguments)
    assert outcome.exit_code == 0, outcome.output
    assert (tmp_path / "train_result.json").is_file()
    assert "say nothing about CLIP" in outcome.output


def test_train_cli_missing_folder_one_line(tiny_clip_dir: Path, tmp_path: Path) -> None:
    arguments = ["train", str(tmp_path / "absent"), "--out", str(tmp_path / "out"), "--model", str(tiny_clip_dir)]
    outcome = runner.invoke(app, arguments)
    assert outcome.exit_code == TRAIN_ERROR_EXIT_CODE
    assert "classes.json" in outcome.output
    assert "Traceback" not in outcome.output


def test_train_cli_bad_trainable_blocks(prepared_dir: Path, tiny_clip_dir: Path, tmp_path: Path) -> None:
    arguments = ["train", str(prepared_dir), "--out", str(tmp_path), "--model", str(tiny_clip_dir)]
    outcome = runner.invoke(app, arguments + ["--method", "fine-tune", "--trainable-blocks", "some"])
    assert outcome.exit_code != 0
    assert "Traceback" not in outcome.output


def test_train_cli_offline_without_fallback(prepared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    arguments = ["train", str(prepared_dir), "--out", str(tmp_path), "--model", "frugalclip-tests/no-such-model"]
    outcome = runner.invoke(app, arguments)
    assert outcome.exit_code == TRAIN_ERROR_EXIT_CODE
    assert "frugalclip-tests/no-such-model" in outcome.output


@pytest.mark.slow
def test_accelerate_two_processes(prepared_dir: Path, tiny_clip_dir: Path, tmp_path: Path) -> None:
    # accelerate 1.16 starts one process for "--cpu --num_processes 2" without mpirun; torchrun
    # through --multi_gpu with ACCELERATE_USE_CPU=1 starts two CPU processes on gloo.
    environment = {**os.environ, "ACCELERATE_USE_CPU": "1", "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2"]
    command += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    command += ["-m", "frugalclip_host.cli_train", "train", str(prepared_dir), "--out", str(tmp_path / "out")]
    command += ["--model", str(tiny_clip_dir), "--epochs", "2", "--batch-size", "8", "--no-energy"]
    completed = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads((tmp_path / "out" / "train_result.json").read_text(encoding="utf-8"))
    assert result["epochs_run"] == 2
    assert "2 processes" in completed.stderr + completed.stdout
    assert (tmp_path / "out" / "checkpoints" / "last.pt").is_file()
