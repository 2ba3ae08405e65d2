"""`frugalclip bench`: option ranges, compare on non-result files, quiet baseline, the committed report's inputs."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from frugalclip_host.bench.compare import render_report
from frugalclip_device.bench.result_schema import load_result
from frugalclip_host.cli_bench import bench_app

REPO = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO / "benchmarks" / "results"
REPORT = REPO / "benchmarks" / "RESULTS.md"


def test_compare_non_result_json_suggests_fix(tmp_path: Path) -> None:
    parity = tmp_path / "parity-aarch64-cortex-a72.json"
    parity.write_text(json.dumps({"platform": {"label": "aarch64"}, "images": 30}))
    with pytest.raises(ValueError, match="keep other JSON files out of benchmarks/results/"):
        render_report([parity], tmp_path / "RESULTS.md")


def test_compare_cli_non_result_json_exit_2(tmp_path: Path) -> None:
    parity = tmp_path / "parity.json"
    parity.write_text(json.dumps({"platform": {}}))
    outcome = CliRunner().invoke(bench_app, ["compare", str(parity), "--out", str(tmp_path / "RESULTS.md")])
    assert outcome.exit_code == 2


@pytest.mark.parametrize("path", sorted(RESULTS_DIR.glob("*/*.json")), ids=lambda path: path.name)
def test_committed_results_are_results(path: Path) -> None:
    assert load_result(path)["rows"]


def _report_inputs() -> list[str]:
    for line in REPORT.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("frugalclip bench compare "):
            words = shlex.split(line.strip())
            end = words.index("--out")
            return words[3:end]
    raise AssertionError(f"{REPORT} has no `frugalclip bench compare` command line")


def test_report_inputs_exist() -> None:
    missing = [name for name in _report_inputs() if not (REPO / name).is_file()]
    assert missing == []


@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(), reason="needs git and the checkout")
def test_report_inputs_not_git_ignored() -> None:
    ignored = subprocess.run(["git", "check-ignore", *_report_inputs()], cwd=REPO, capture_output=True, text=True)
    assert ignored.stdout.split() == []


@pytest.mark.parametrize("option", ["--runs", "--batch-size", "--limit", "--baseline-runs"])
def test_run_rejects_zero(tmp_path: Path, option: str) -> None:
    outcome = CliRunner().invoke(bench_app, ["run", "--model", str(tmp_path), "--data", str(tmp_path), option, "0"],
                                 env={"COLUMNS": "200"})
    assert outcome.exit_code == 2
    assert "greater than or equal to 1" in outcome.output


def test_baseline_has_no_slow_processor_notice(tiny_clip_dir: Path, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(photo)
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"labels": ["red", "blue"], "images": [str(photo)]}))
    completed = subprocess.run(
        [sys.executable, "-m", "frugalclip_host.bench.naive_baseline", "--clip-dir", str(tiny_clip_dir),
         "--threads", "1", "--request", str(request)],
        capture_output=True, text=True, timeout=300, check=True,
    )
    assert "slow image processor" not in completed.stderr
