"""``scripts/deploy.sh`` against a local folder target; no host is ever contacted."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "scripts" / "deploy.sh"

pytestmark = pytest.mark.skipif(shutil.which("rsync") is None or not DEPLOY.is_file(), reason="needs rsync and scripts/deploy.sh")


def _deploy(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(DEPLOY), *arguments], capture_output=True, text=True, timeout=120, env=env)


def test_deploy_copies_bundle_and_package(tmp_path: Path, tiny_bundle: Path) -> None:
    completed = _deploy(str(tmp_path / "pi"), str(tiny_bundle))
    target = tmp_path / "pi" / "frugalclip"
    assert completed.returncode == 0, completed.stderr
    assert (target / "models" / tiny_bundle.name / "manifest.json").is_file()
    assert (target / "device" / "pyproject.toml").is_file()
    assert (target / "device" / "frugalclip_device" / "runner.py").is_file()
    assert not list(target.rglob("__pycache__"))
    assert (target / "deploy" / "frugalclip-device@.service").is_file()
    assert f"--model models/{tiny_bundle.name} --source picamera2" in completed.stdout


def test_deploy_rsync_target_override(tmp_path: Path, tiny_bundle: Path) -> None:
    import os

    env = {**os.environ, "DEPLOY_RSYNC_TARGET": str(tmp_path / "elsewhere")}
    completed = _deploy("", str(tiny_bundle), env=env)
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "elsewhere" / "models" / tiny_bundle.name / "labels.json").is_file()


def test_deploy_without_model(tmp_path: Path) -> None:
    completed = _deploy(str(tmp_path / "pi"), "")
    assert completed.returncode == 2
    assert "MODEL=models/<name>" in completed.stderr


def test_deploy_rejects_non_bundle(tmp_path: Path) -> None:
    completed = _deploy(str(tmp_path / "pi"), str(tmp_path))
    assert completed.returncode == 2
    assert "manifest.json" in completed.stderr


def test_make_deploy_target(tmp_path: Path, tiny_bundle: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make not found")
    completed = subprocess.run(
        ["make", "-s", "deploy", f"PI={tmp_path / 'pi'}", f"MODEL={tiny_bundle}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "pi" / "frugalclip" / "models" / tiny_bundle.name / "manifest.json").is_file()


def _fake_rsync_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """PATH with an rsync that only records its arguments, so a user@host target contacts no host."""
    import os

    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    rsync = bin_dir / "rsync"
    rsync.write_text(f'#!/bin/sh\necho "$@" >> "{tmp_path / "rsync-calls.txt"}"\n')
    rsync.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", **extra}


def test_deploy_local_prints_target_folder(tmp_path: Path, tiny_bundle: Path) -> None:
    completed = _deploy(str(tmp_path / "pi"), str(tiny_bundle))
    assert completed.returncode == 0, completed.stderr
    assert f"  cd {tmp_path / 'pi' / 'frugalclip'} && python3 -m venv" in completed.stdout
    assert "~/" not in completed.stdout


def test_deploy_rsync_target_prints_folder(tmp_path: Path, tiny_bundle: Path) -> None:
    import os

    env = {**os.environ, "DEPLOY_RSYNC_TARGET": str(tmp_path / "elsewhere") + "/"}
    completed = _deploy("", str(tiny_bundle), env=env)
    assert completed.returncode == 0, completed.stderr
    assert f"  cd {tmp_path / 'elsewhere'} && python3 -m venv" in completed.stdout


def test_deploy_relative_target_prints_absolute(tmp_path: Path, tiny_bundle: Path) -> None:
    completed = subprocess.run([str(DEPLOY), "./pi", str(tiny_bundle)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert f"  cd {tmp_path / 'pi' / 'frugalclip'} && " in completed.stdout


def test_deploy_host_prints_ssh_command(tmp_path: Path, tiny_bundle: Path) -> None:
    completed = _deploy("pi@raspberrypi.invalid", str(tiny_bundle), env=_fake_rsync_env(tmp_path))
    calls = (tmp_path / "rsync-calls.txt").read_text()
    assert completed.returncode == 0, completed.stderr
    assert "pi@raspberrypi.invalid:frugalclip/device/" in calls
    assert "  ssh pi@raspberrypi.invalid 'cd frugalclip && python3 -m venv" in completed.stdout


def test_deploy_rsync_target_host_prints_folder(tmp_path: Path, tiny_bundle: Path) -> None:
    env = _fake_rsync_env(tmp_path, DEPLOY_RSYNC_TARGET="pi@raspberrypi.invalid:/opt/frugalclip")
    completed = _deploy("", str(tiny_bundle), env=env)
    assert completed.returncode == 0, completed.stderr
    assert "  ssh pi@raspberrypi.invalid 'cd /opt/frugalclip && python3 -m venv" in completed.stdout
