"""Machine fingerprint and energy meter of the benchmark suite on fake procfs and sysfs trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from frugalclip_device.bench.carbon import carbon_intensity_g_per_kwh, co2_g_per_1000
from frugalclip_device.bench.energy_meter import open_energy_meter
from frugalclip_device.bench.fingerprint import machine_fingerprint, machine_slug


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture()
def pi_tree(tmp_path: Path) -> Path:
    _write(tmp_path / "proc/cpuinfo", "processor\t: 0\nBogoMIPS\t: 108.00\n\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0\n")
    _write(tmp_path / "proc/meminfo", "MemTotal:        8245216 kB\nMemFree:  100 kB\n")
    _write(tmp_path / "proc/device-tree/model", "Raspberry Pi 5 Model B Rev 1.0\x00")
    _write(tmp_path / "etc/os-release", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n')
    for cpu in range(4):
        _write(tmp_path / f"sys/devices/system/cpu/cpu{cpu}/topology/physical_package_id", "0\n")
        _write(tmp_path / f"sys/devices/system/cpu/cpu{cpu}/topology/core_id", f"{cpu}\n")
    _write(tmp_path / "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "ondemand\n")
    _write(tmp_path / "sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", "2400000\n")
    return tmp_path


def test_fingerprint_pi_model(pi_tree: Path) -> None:
    assert machine_fingerprint(pi_tree)["pi_model"] == "Raspberry Pi 5 Model B Rev 1.0"


def test_fingerprint_cores(pi_tree: Path) -> None:
    fingerprint = machine_fingerprint(pi_tree)
    assert fingerprint["logical_cpus"] == 4
    assert fingerprint["physical_cores"] == 4


def test_fingerprint_governor_ram_frequency(pi_tree: Path) -> None:
    fingerprint = machine_fingerprint(pi_tree)
    assert fingerprint["frequency_governor"] == "ondemand"
    assert fingerprint["memory_total_bytes"] == 8245216 * 1024
    assert fingerprint["max_frequency_mhz"] == 2400.0


def test_fingerprint_os_and_versions(pi_tree: Path) -> None:
    fingerprint = machine_fingerprint(pi_tree)
    assert fingerprint["os"].startswith("Debian GNU/Linux 12 (bookworm)")
    assert fingerprint["onnxruntime"]
    assert fingerprint["python"]


def test_fingerprint_name_is_pi_slug(pi_tree: Path) -> None:
    assert machine_fingerprint(pi_tree)["name"] == "raspberry-pi-5-model-b-rev-1-0"


def test_fingerprint_empty_tree(tmp_path: Path) -> None:
    fingerprint = machine_fingerprint(tmp_path)
    assert fingerprint["pi_model"] is None
    assert fingerprint["frequency_governor"] is None


def test_slug_x86() -> None:
    slug = machine_slug({"architecture": "x86_64", "cpu_model": "AMD EPYC 7B13", "logical_cpus": 2})
    assert slug == "x86-64-amd-epyc-7b13-2cpu"


def _rapl_tree(root: Path, energy_uj: int, range_uj: int = 1000) -> Path:
    _write(root / "sys/class/powercap/intel-rapl:0/energy_uj", f"{energy_uj}\n")
    _write(root / "sys/class/powercap/intel-rapl:0/max_energy_range_uj", f"{range_uj}\n")
    _write(root / "sys/class/powercap/intel-rapl:0:0/energy_uj", "5\n")  # a sub-zone, not counted
    _write(root / "sys/class/powercap/intel-rapl:0:0/max_energy_range_uj", "1000\n")
    return root


def test_energy_rapl_difference(tmp_path: Path) -> None:
    meter = open_energy_meter(_rapl_tree(tmp_path, 100))
    meter.start()
    _rapl_tree(tmp_path, 400)
    span = meter.stop()
    assert span.source == "rapl"
    assert span.energy_j == pytest.approx(300e-6)


def test_energy_rapl_wraparound(tmp_path: Path) -> None:
    meter = open_energy_meter(_rapl_tree(tmp_path, 900))
    meter.start()
    _rapl_tree(tmp_path, 50)
    assert meter.stop().energy_j == pytest.approx(150e-6)


def test_energy_estimate_without_rapl(tmp_path: Path) -> None:
    meter = open_energy_meter(tmp_path)
    meter.start()
    sum(index * index for index in range(200_000))  # some CPU time
    span = meter.stop()
    assert span.source == "estimate"
    assert span.energy_j >= 0.0


def test_energy_stop_before_start_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="before start"):
        open_energy_meter(tmp_path).stop()


def test_energy_second_span_excludes_gap(tmp_path: Path) -> None:
    meter = open_energy_meter(_rapl_tree(tmp_path, 100, range_uj=10_000))
    meter.start()
    _rapl_tree(tmp_path, 200, range_uj=10_000)
    meter.stop()
    _rapl_tree(tmp_path, 700, range_uj=10_000)  # between spans: not counted
    meter.start()
    _rapl_tree(tmp_path, 750, range_uj=10_000)
    assert meter.stop().energy_j == pytest.approx(50e-6)


def test_carbon_intensity_france() -> None:
    intensity, _ = carbon_intensity_g_per_kwh("fra")
    assert 20 < intensity < 120


def test_carbon_intensity_unknown_country() -> None:
    with pytest.raises(ValueError, match="alpha-3"):
        carbon_intensity_g_per_kwh("XXX")


def test_co2_per_1000_known_value() -> None:
    # 3.6 J x 1000 = 1 Wh = 0.001 kWh at 100 g/kWh -> 0.1 g
    assert co2_g_per_1000(3.6, 100.0) == pytest.approx(0.1)
