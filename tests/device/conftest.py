"""Shared fixtures of the device tests: real bundles, images, a fake sysfs tree and a fake vcgencmd.

Everything here needs only onnxruntime, numpy, pillow, typer, onnx and pytest, so the
device tests also run under aarch64 emulation.
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))  # bundle_factory, also for tests/device/test_bench_*.py

from bundle_factory import make_bundle  # noqa: E402
from device_test_helpers import PMIC_OUTPUT, THROTTLED_FLAGS, write_fake_sysfs  # noqa: E402


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 32 px random-weight bundle with three labels."""
    return make_bundle(tmp_path_factory.mktemp("bundles") / "tiny")


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """Eight small PNG photos-like images of several sizes and aspect ratios."""
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index, (width, height) in enumerate([(64, 48), (48, 64), (40, 40), (90, 30), (33, 77), (64, 48), (50, 50), (120, 80)]):
        array = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        Image.fromarray(array).save(folder / f"img{index:02d}.png")
    return folder


@pytest.fixture
def fake_vcgencmd(tmp_path: Path) -> Path:
    """An executable that prints get_throttled and pmic_read_adc output like a Raspberry Pi 5."""
    script = tmp_path / "bin" / "vcgencmd"
    script.parent.mkdir()
    (tmp_path / "bin" / "pmic.txt").write_text(PMIC_OUTPUT)
    script.write_text(
        "#!/bin/sh\n"
        'case "$1" in\n'
        f'  get_throttled) echo "throttled={hex(THROTTLED_FLAGS)}" ;;\n'
        f'  pmic_read_adc) cat "{tmp_path / "bin" / "pmic.txt"}" ;;\n'
        '  *) echo "unknown command" >&2; exit 1 ;;\n'
        "esac\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


@pytest.fixture
def fake_sysfs(tmp_path: Path) -> Path:
    return write_fake_sysfs(tmp_path / "sysroot")


