"""Thermal throttling detection on a fake sysfs tree and a fake vcgencmd."""

from __future__ import annotations

from pathlib import Path

import pytest

from frugalclip_device.bench.throttling import take_snapshot, throttling_reasons


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _x86_tree(root: Path, core_count: int, package_count: int, temp_millidegrees: int = 55000) -> Path:
    for cpu in ("cpu0", "cpu1"):
        _write(root / f"sys/devices/system/cpu/{cpu}/thermal_throttle/core_throttle_count", f"{core_count}\n")
        _write(root / f"sys/devices/system/cpu/{cpu}/thermal_throttle/package_throttle_count", f"{package_count}\n")
    _write(root / "sys/class/thermal/thermal_zone0/temp", f"{temp_millidegrees}\n")
    return root


def _fake_vcgencmd(value: str):
    def run(arguments: list[str]) -> str:
        assert arguments == ["get_throttled"]
        return f"throttled={value}\n"

    return run


def _no_vcgencmd(arguments: list[str]) -> str:
    raise OSError("vcgencmd not found")


def test_x86_counters_unchanged_not_throttled(tmp_path: Path) -> None:
    root = _x86_tree(tmp_path, 3, 1)
    before = take_snapshot(root, _no_vcgencmd)
    after = take_snapshot(root, _no_vcgencmd)
    assert throttling_reasons(before, after) == []


def test_x86_counter_growth_is_throttling(tmp_path: Path) -> None:
    root = _x86_tree(tmp_path, 3, 1)
    before = take_snapshot(root, _no_vcgencmd)
    _x86_tree(tmp_path, 5, 1)
    reasons = throttling_reasons(before, take_snapshot(root, _no_vcgencmd))
    assert len(reasons) == 2  # core counters of cpu0 and cpu1
    assert "core_throttle_count grew by 2" in reasons[0]


def test_x86_snapshot_reads_temperature(tmp_path: Path) -> None:
    snapshot = take_snapshot(_x86_tree(tmp_path, 0, 0, temp_millidegrees=61500), _no_vcgencmd)
    assert snapshot.max_temperature_c == pytest.approx(61.5)


def test_pi_clear_flags_not_throttled(tmp_path: Path) -> None:
    before = take_snapshot(tmp_path, _fake_vcgencmd("0x0"))
    after = take_snapshot(tmp_path, _fake_vcgencmd("0x0"))
    assert throttling_reasons(before, after) == []


def test_pi_currently_throttled(tmp_path: Path) -> None:
    before = take_snapshot(tmp_path, _fake_vcgencmd("0x0"))
    after = take_snapshot(tmp_path, _fake_vcgencmd("0x40004"))
    assert "vcgencmd: throttled now" in throttling_reasons(before, after)


def test_pi_sticky_bit_set_during_run(tmp_path: Path) -> None:
    before = take_snapshot(tmp_path, _fake_vcgencmd("0x0"))
    after = take_snapshot(tmp_path, _fake_vcgencmd("0x80000"))
    assert throttling_reasons(before, after) == ["vcgencmd: soft temperature limit occurred during the run"]


def test_pi_sticky_bit_from_before_ignored(tmp_path: Path) -> None:
    before = take_snapshot(tmp_path, _fake_vcgencmd("0x50000"))
    after = take_snapshot(tmp_path, _fake_vcgencmd("0x50000"))
    assert throttling_reasons(before, after) == []


def test_pi_flags_decoded_in_dict(tmp_path: Path) -> None:
    snapshot = take_snapshot(tmp_path, _fake_vcgencmd("0x50005"))
    assert snapshot.to_dict()["pi_flags"] == [
        "under-voltage now", "throttled now", "under-voltage occurred", "throttling occurred",
    ]


def test_no_sensors_snapshot_empty(tmp_path: Path) -> None:
    snapshot = take_snapshot(tmp_path, None)
    assert snapshot.pi_throttled_bits is None
    assert snapshot.throttle_counts == {}
    assert snapshot.max_temperature_c is None
