"""``frugalclip-device run`` and ``info`` end to end in subprocesses: outputs, faults, signals, kill -9."""

from __future__ import annotations

import csv
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bundle_factory import make_bundle
from device_test_helpers import THROTTLED_FLAGS, device_cli, write_fake_sysfs
from frugalclip_device.frame_log import CSV_COLUMNS

POLL_LIMIT_S = 120.0


def _base_args(bundle: Path, source: Path, log: Path) -> list[str]:
    return ["run", "--model", str(bundle), "--source", str(source), "--log", str(log), "--no-codecarbon", "--cpu-power-w", "5"]


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _isolated_env(tmp_path: Path) -> dict[str, str]:
    return {"FRUGALCLIP_SYSFS_ROOT": str(tmp_path / "empty-root"), "FRUGALCLIP_VCGENCMD": str(tmp_path / "no-vcgencmd")}


def test_run_writes_csv_and_summary(tmp_path: Path, tiny_bundle: Path, image_folder: Path, fake_vcgencmd: Path) -> None:
    root = write_fake_sysfs(tmp_path / "root")
    env = {"FRUGALCLIP_SYSFS_ROOT": str(root), "FRUGALCLIP_VCGENCMD": str(fake_vcgencmd)}
    completed = device_cli(*_base_args(tiny_bundle, image_folder, tmp_path / "runs"), "--loop", "--max-frames", "20", env=env)
    assert completed.returncode == 0, completed.stderr
    csv_path = next((tmp_path / "runs").glob("*.csv"))
    rows = _rows(csv_path)
    summary = json.loads(next((tmp_path / "runs").glob("*.summary.json")).read_text())
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert len(rows) == 20
    assert summary["frames"] == 20
    assert summary["energy"]["source"] == "pmic"
    assert rows[-1]["energy_source"] == "pmic"
    assert rows[-1]["cpu_temp_c"] == "61.2"
    assert summary["throttling"]["flags_seen"] == hex(THROTTLED_FLAGS)
    assert set(summary["latency_ms"]) == {"p50", "p90", "p99"}
    assert sum(summary["labels"].values()) == 20
    assert "random weights" in completed.stdout


def test_run_summary_reads_as_text(tmp_path: Path, tiny_bundle: Path, image_folder: Path, fake_vcgencmd: Path) -> None:
    root = write_fake_sysfs(tmp_path / "root")
    env = {"FRUGALCLIP_SYSFS_ROOT": str(root), "FRUGALCLIP_VCGENCMD": str(fake_vcgencmd)}
    completed = device_cli(*_base_args(tiny_bundle, image_folder, tmp_path / "runs"), "--loop", "--max-frames", "10", env=env)
    lines = {line.partition(":")[0]: line.partition(":")[2].strip() for line in completed.stdout.splitlines()}
    assert completed.returncode == 0, completed.stderr
    assert lines["runtime overhead outside session.run"].endswith(" %")
    assert lines["throttling seen"].startswith("under-voltage detected, currently throttled")
    assert "{" not in lines["labels"]
    assert lines["latency per frame"].startswith("p50 ")
    assert "None" not in completed.stdout


def test_run_without_throttling_sensor_text(tmp_path: Path, tiny_bundle: Path, image_folder: Path) -> None:
    completed = device_cli(*_base_args(tiny_bundle, image_folder, tmp_path / "runs"), "--max-frames", "2", env=_isolated_env(tmp_path))
    assert completed.returncode == 0, completed.stderr
    assert "throttling seen: unknown (no vcgencmd get_throttled on this machine)" in completed.stdout
    assert "None" not in completed.stdout


def test_run_missing_webcam_exits_2(tmp_path: Path, tiny_bundle: Path) -> None:
    pytest.importorskip("cv2")
    device = "/dev/video-frugalclip-test-missing"
    args = ["run", "--model", str(tiny_bundle), "--source", device, "--log", str(tmp_path / "runs"), "--no-codecarbon"]
    completed = device_cli(*args, "--cpu-power-w", "5", "--open-timeout-s", "1", env=_isolated_env(tmp_path))
    last_line = completed.stderr.strip().splitlines()[-1]
    assert completed.returncode == 2
    assert last_line.startswith(f"error: webcam {device} delivered no frame in 1 s")
    assert "ls -l /dev/video*" in last_line
    assert "--open-timeout-s" in last_line
    assert "[ WARN" not in completed.stderr  # OpenCV's own log lines
    assert "Traceback" not in completed.stderr


def test_run_all_corrupt_exits_2(tmp_path: Path, tiny_bundle: Path) -> None:
    folder = tmp_path / "broken-images"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    (folder / "b.png").write_text("not an image")
    completed = device_cli(*_base_args(tiny_bundle, folder, tmp_path / "runs"), env=_isolated_env(tmp_path))
    last_line = completed.stderr.strip().splitlines()[-1]
    assert completed.returncode == 2
    assert "delivered no frame before the run stopped (stop reason: source ended)" in last_line
    assert "2 corrupt frames skipped" in last_line


def test_run_folder_every_frame_default(tmp_path: Path, tiny_bundle: Path, image_folder: Path) -> None:
    completed = device_cli(*_base_args(tiny_bundle, image_folder, tmp_path / "runs"), env=_isolated_env(tmp_path))
    rows = _rows(next((tmp_path / "runs").glob("*.csv")))
    summary = json.loads(next((tmp_path / "runs").glob("*.summary.json")).read_text())
    assert completed.returncode == 0, completed.stderr
    assert summary["frame_delivery"] == "every-frame"
    assert [Path(row["source_frame"]).name for row in rows] == sorted(path.name for path in image_folder.iterdir())
    assert summary["dropped_frames"] == 0
    assert "dropped frames: 0 (every-frame)" in completed.stdout


def test_run_newest_only_flag(tmp_path: Path, tiny_bundle: Path, image_folder: Path) -> None:
    args = _base_args(tiny_bundle, image_folder, tmp_path / "runs")
    completed = device_cli(*args, "--newest-only", "--max-frames", "3", "--loop", env=_isolated_env(tmp_path))
    summary = json.loads(next((tmp_path / "runs").glob("*.summary.json")).read_text())
    assert completed.returncode == 0, completed.stderr
    assert summary["frame_delivery"] == "newest-only"


@pytest.mark.parametrize("option", ["--min-confidence", "--pmic-period-ms", "--open-timeout-s", "--cpu-power-w"])
def test_run_help_full_names_80_columns(option: str) -> None:
    completed = device_cli("run", "--help", env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    assert completed.returncode == 0, completed.stderr
    assert f" {option} " in completed.stdout


def test_run_help_no_ellipsis_80_columns() -> None:
    completed = device_cli("run", "--help", env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    assert "…" not in completed.stdout


def test_info_help_states_cpu_power_default() -> None:
    completed = device_cli("info", "--help", env={"COLUMNS": "200"})
    text = " ".join(completed.stdout.replace("│", " ").split())
    assert "Default: codecarbon's figure for this CPU, else 4 W per logical CPU." in text


def test_run_help_states_delivery_default() -> None:
    completed = device_cli("run", "--help", env={"COLUMNS": "200"})
    assert "--every-frame" in completed.stdout
    text = " ".join(completed.stdout.replace("│", " ").split())  # rich wraps help text inside a box
    assert "newest-only for picamera2 and webcams" in text


def test_run_twice_keeps_both(tmp_path: Path, tiny_bundle: Path, image_folder: Path) -> None:
    for _ in range(2):
        completed = device_cli(*_base_args(tiny_bundle, image_folder, tmp_path / "runs"), "--max-frames", "2", env=_isolated_env(tmp_path))
        assert completed.returncode == 0, completed.stderr
    assert len(list((tmp_path / "runs").glob("*.csv"))) == 2


def test_run_counts_corrupt_frames(tmp_path: Path, tiny_bundle: Path, image_folder: Path) -> None:
    (image_folder / "zz-truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    (image_folder / "zz-text.png").write_text("not an image")
    completed = device_cli(*_base_args(tiny_bundle, image_folder, tmp_path / "runs"), env=_isolated_env(tmp_path))
    summary = json.loads(next((tmp_path / "runs").glob("*.summary.json")).read_text())
    assert completed.returncode == 0, completed.stderr
    assert summary["corrupt_frames"] == 2
    assert summary["stop_reason"] == "source ended"


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("missing", "missing file"),
        ("mismatch", "checksum mismatch"),
        ("version", "format_version"),
        ("labels", "labels do not belong"),
    ],
)
def test_bundle_faults(tmp_path: Path, image_folder: Path, breakage: str, message: str) -> None:
    bundle = make_bundle(tmp_path / "broken", graph_classes=5 if breakage == "labels" else None)
    if breakage == "missing":
        (bundle / "model-fp32.onnx").unlink()
    elif breakage == "mismatch":
        (bundle / "labels.json").write_text('["x", "y", "z"]\n')
    elif breakage == "version":
        manifest = json.loads((bundle / "manifest.json").read_text())
        manifest["format_version"] = 99
        (bundle / "manifest.json").write_text(json.dumps(manifest))
    completed = device_cli(*_base_args(bundle, image_folder, tmp_path / "runs"), env=_isolated_env(tmp_path))
    assert completed.returncode == 2
    assert message in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1
    assert "Traceback" not in completed.stderr


def test_picamera2_missing_one_line(tmp_path: Path, tiny_bundle: Path) -> None:
    completed = device_cli("run", "--model", str(tiny_bundle), "--source", "picamera2", "--log", str(tmp_path), env=_isolated_env(tmp_path))
    assert completed.returncode == 2
    assert "sudo apt install python3-picamera2" in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1


def test_csv_not_creatable(tmp_path: Path, tiny_bundle: Path, image_folder: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    completed = device_cli(*_base_args(tiny_bundle, image_folder, blocker / "runs"), env=_isolated_env(tmp_path))
    assert completed.returncode == 1
    assert "--log" in completed.stderr
    assert "Traceback" not in completed.stderr


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit then fail with EFBIG, like a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000))


def test_disk_full_stops_cleanly(tmp_path: Path, tiny_bundle: Path, image_folder: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "frugalclip_device", *_base_args(tiny_bundle, image_folder, tmp_path / "runs"), "--loop"],
        capture_output=True,
        text=True,
        env={**os.environ, **_isolated_env(tmp_path)},
        preexec_fn=_limit_file_size,
        timeout=POLL_LIMIT_S,
    )
    csv_path = next((tmp_path / "runs").glob("*.csv"))
    rows = _rows(csv_path)
    summary_text = completed.stderr[completed.stderr.index("{") :]
    assert completed.returncode == 1
    assert "the disk is full" in completed.stderr
    assert json.loads(summary_text)["stop_reason"] == "csv write error"
    assert csv_path.read_bytes().endswith(b"\n")
    assert all(None not in row.values() for row in rows)


def _start_run(tmp_path: Path, bundle: Path, folder: Path) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / "runs"
    process = subprocess.Popen(
        [sys.executable, "-m", "frugalclip_device", *_base_args(bundle, folder, log), "--loop", "--fps", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **_isolated_env(tmp_path)},
    )
    deadline = time.monotonic() + POLL_LIMIT_S
    while time.monotonic() < deadline:
        paths = list(log.glob("*.csv")) if log.is_dir() else []
        if paths and paths[0].read_text().count("\n") >= 6:
            return process, paths[0]
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"the run wrote no rows: {process.communicate()[1]}")


def test_csv_survives_kill_9(tmp_path: Path, tiny_bundle: Path, image_folder: Path) -> None:
    process, csv_path = _start_run(tmp_path, tiny_bundle, image_folder)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=POLL_LIMIT_S)
    rows = _rows(csv_path)
    assert process.returncode == -signal.SIGKILL
    assert len(rows) >= 5
    assert [int(row["frame_index"]) for row in rows] == list(range(len(rows)))
    assert all(None not in row.values() and None not in row for row in rows)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_with_summary(tmp_path: Path, tiny_bundle: Path, image_folder: Path, signum: int) -> None:
    process, csv_path = _start_run(tmp_path, tiny_bundle, image_folder)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=POLL_LIMIT_S)
    summary = json.loads(next(csv_path.parent.glob("*.summary.json")).read_text())
    assert process.returncode == 0, stderr
    assert summary["stop_reason"] == signal.Signals(signum).name
    assert summary["frames"] == len(_rows(csv_path))


def test_info_reports_bundle_and_sensors(tmp_path: Path, tiny_bundle: Path, fake_vcgencmd: Path) -> None:
    root = write_fake_sysfs(tmp_path / "root", rapl_uj=10)
    env = {"FRUGALCLIP_SYSFS_ROOT": str(root), "FRUGALCLIP_VCGENCMD": str(fake_vcgencmd)}
    completed = device_cli("info", "--model", str(tiny_bundle), "--json", "--cpu-power-w", "5", env=env)
    report = json.loads(completed.stdout)
    assert completed.returncode == 0, completed.stderr
    assert set(report["bundle"]["checksums"].values()) == {"ok"}
    assert list(report["bundle"]["variants"]) == ["fp32"]
    assert report["system"]["board"] == "Raspberry Pi 5 Model B Rev 1.0"
    assert report["system"]["throttled"]["flags"] == hex(THROTTLED_FLAGS)
    assert report["energy"]["rapl"].startswith("package-0")
    assert report["energy"]["selected_by_auto"] == "pmic"


def test_info_text_tables(tmp_path: Path, tiny_bundle: Path, fake_vcgencmd: Path) -> None:
    root = write_fake_sysfs(tmp_path / "root")
    env = {"FRUGALCLIP_SYSFS_ROOT": str(root), "FRUGALCLIP_VCGENCMD": str(fake_vcgencmd), "COLUMNS": "120"}
    completed = device_cli("info", "--model", str(tiny_bundle), "--cpu-power-w", "5", env=env)
    lines = [line.strip() for line in completed.stdout.splitlines()]
    assert completed.returncode == 0, completed.stderr
    assert any(line.split()[:2] == ["board", "Raspberry"] for line in lines)
    assert any("labels.json" in line and "ok" in line for line in lines)
    assert any(line.split()[:3] == ["CPU", "temperature", "61.2"] for line in lines)
    assert any(line.startswith("memory of this process") and line.endswith(" MB") for line in lines)
    assert "fp32 *" in completed.stdout
    assert "{" not in completed.stdout
    assert "None" not in completed.stdout


def test_info_text_missing_sensors(tmp_path: Path, tiny_bundle: Path) -> None:
    completed = device_cli("info", "--model", str(tiny_bundle), "--cpu-power-w", "5", env={**_isolated_env(tmp_path), "COLUMNS": "120"})
    assert completed.returncode == 0, completed.stderr
    lines = [line.split() for line in completed.stdout.splitlines()]
    assert ["CPU", "temperature", "unknown"] in lines
    assert "not found (" in completed.stdout
    assert "None" not in completed.stdout


def test_info_names_bad_checksum(tmp_path: Path, fake_vcgencmd: Path) -> None:
    bundle = make_bundle(tmp_path / "bundle")
    (bundle / "preprocess.json").write_text("{}\n")
    completed = device_cli("info", "--model", str(bundle), "--cpu-power-w", "5", env=_isolated_env(tmp_path))
    assert completed.returncode == 2
    assert "preprocess.json" in completed.stderr


def test_import_pulls_no_torch() -> None:
    code = (
        "import sys, frugalclip_device, frugalclip_device.cli, frugalclip_device.runner, frugalclip_device.info\n"
        "heavy = sorted(name for name in ('torch', 'transformers', 'codecarbon', 'cv2', 'picamera2') if name in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=POLL_LIMIT_S)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == ""


def test_codecarbon_output_next_to_csv(tmp_path: Path, tiny_bundle: Path, image_folder: Path) -> None:
    pytest.importorskip("codecarbon")
    args = [arg for arg in _base_args(tiny_bundle, image_folder, tmp_path / "runs") if arg != "--no-codecarbon"]
    completed = device_cli(*args, "--loop", "--max-frames", "5", "--country", "FRA", env=_isolated_env(tmp_path))
    summary = json.loads(next((tmp_path / "runs").glob("*.summary.json")).read_text())
    carbon = summary["codecarbon_estimate"]
    assert completed.returncode == 0, completed.stderr
    assert Path(carbon["file"]).parent == tmp_path / "runs"
    assert Path(carbon["file"]).is_file()
    assert "not a measurement" in carbon["note"]
    assert "Multiple instances of codecarbon" not in completed.stderr
    assert "offline tracker init" not in completed.stderr
    assert "codecarbon estimate (not a measurement)" in completed.stdout


def test_codecarbon_logs_with_verbose(tmp_path: Path, tiny_bundle: Path, image_folder: Path) -> None:
    pytest.importorskip("codecarbon")
    args = [arg for arg in _base_args(tiny_bundle, image_folder, tmp_path / "runs") if arg != "--no-codecarbon"]
    completed = device_cli(*args, "--max-frames", "2", "-v", env=_isolated_env(tmp_path))
    assert completed.returncode == 0, completed.stderr
    assert "offline tracker init" in completed.stderr
