"""Energy meters and system readings on a fake sysfs tree and a fake vcgencmd."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from device_test_helpers import PMIC_OUTPUT, PMIC_TOTAL_W, THROTTLED_FLAGS, write_fake_sysfs
from frugalclip_device.energy import EnergyChoice, EnergySourceError, EnergySourceKind, select_energy_meter
from frugalclip_device.energy.estimate import CpuPowerConstant, EstimateMeter
from frugalclip_device.energy.pmic import PmicMeter, PowerTimeline
from frugalclip_device.energy.rapl import RaplMeter, counter_delta_uj, find_rapl_domains
from frugalclip_device.system_readings import SystemSampler, SystemSensors
from frugalclip_device.vcgencmd import Vcgencmd, decode_throttled, parse_pmic_read_adc, parse_throttled

NS = 1_000_000_000


def test_parse_throttled() -> None:
    assert parse_throttled("throttled=0x50005\n") == 0x50005


def test_decode_throttled() -> None:
    assert decode_throttled(0x50005) == [
        "under-voltage detected",
        "currently throttled",
        "under-voltage has occurred",
        "throttling has occurred",
    ]


def test_parse_pmic_pairs_rails() -> None:
    reading = parse_pmic_read_adc(PMIC_OUTPUT)
    assert sorted(reading.rail_power_w) == ["3V3_SYS", "DDR_VDD2", "HDMI", "VDD_CORE"]
    assert math.isclose(reading.total_power_w, PMIC_TOTAL_W)


def test_parse_pmic_without_rails() -> None:
    assert parse_pmic_read_adc("error=1 error_msg=\"Command not registered\"") is None


def test_fake_vcgencmd_runs(fake_vcgencmd: Path) -> None:
    runner = Vcgencmd(str(fake_vcgencmd))
    assert runner.get_throttled() == THROTTLED_FLAGS


def test_missing_vcgencmd(tmp_path: Path) -> None:
    runner = Vcgencmd(str(tmp_path / "absent"))
    assert runner.pmic_read_adc() is None


def test_timeline_integrates_linear_power() -> None:
    timeline = PowerTimeline()
    timeline.add(0, 2.0)
    timeline.add(2 * NS, 4.0)
    assert math.isclose(timeline.integrate_j(0, 2 * NS), 6.0)


def test_timeline_holds_last_power() -> None:
    timeline = PowerTimeline()
    timeline.add(0, 3.0)
    assert math.isclose(timeline.integrate_j(NS, 3 * NS), 6.0)


def test_timeline_consecutive_frames_add_up() -> None:
    timeline = PowerTimeline()
    for second, watts in enumerate([1.0, 5.0, 2.0, 2.0]):
        timeline.add(second * NS, watts)
    parts = [timeline.integrate_j(start, start + NS // 2) for start in range(0, 3 * NS, NS // 2)]
    assert math.isclose(sum(parts), 3.0 + 3.5 + 2.0)


def test_pmic_meter_reports_power(fake_vcgencmd: Path) -> None:
    meter = PmicMeter(Vcgencmd(str(fake_vcgencmd)), period_s=0.05)
    meter.start(0)
    energy = meter.frame(NS // 10)
    meter.stop()
    assert math.isclose(energy.power_w, PMIC_TOTAL_W, rel_tol=1e-9)


def test_rapl_finds_top_level_domains(tmp_path: Path) -> None:
    root = write_fake_sysfs(tmp_path, rapl_uj=1000)
    domains, reason = find_rapl_domains(root)
    assert [domain.name for domain in domains] == ["package-0"]
    assert reason is None


def test_rapl_meter_reads_delta(tmp_path: Path) -> None:
    root = write_fake_sysfs(tmp_path, rapl_uj=1_000_000)
    meter = RaplMeter(find_rapl_domains(root)[0])
    meter.start(0)
    (root / "sys/class/powercap/intel-rapl:0/energy_uj").write_text("3500000\n")
    energy = meter.frame(NS // 2)
    meter.stop()
    assert math.isclose(energy.energy_j, 2.5)
    assert math.isclose(energy.power_w, 5.0)


def test_rapl_wraparound() -> None:
    assert counter_delta_uj(before_uj=990, after_uj=10, max_energy_range_uj=1000) == 20


def test_rapl_absent(tmp_path: Path) -> None:
    domains, reason = find_rapl_domains(tmp_path)
    assert domains == []
    assert "no RAPL domains" in reason


def test_estimate_meter_is_labelled() -> None:
    meter = EstimateMeter(CpuPowerConstant(8.0, "test"), logical_cpus=2)
    meter.start(0)
    sum(range(200_000))  # some CPU time
    energy = meter.frame(NS)
    assert meter.kind is EnergySourceKind.ESTIMATE
    assert energy.energy_j > 0
    assert "not a measurement" in meter.describe()


def test_auto_prefers_pmic(tmp_path: Path, fake_vcgencmd: Path) -> None:
    root = write_fake_sysfs(tmp_path / "root", rapl_uj=5)
    meter = select_energy_meter(EnergyChoice.AUTO, sysfs_root=root, vcgencmd=Vcgencmd(str(fake_vcgencmd)))
    assert meter.kind is EnergySourceKind.PMIC


def test_auto_then_rapl(tmp_path: Path) -> None:
    root = write_fake_sysfs(tmp_path / "root", rapl_uj=5)
    meter = select_energy_meter(EnergyChoice.AUTO, sysfs_root=root, vcgencmd=Vcgencmd(str(tmp_path / "absent")))
    meter.stop()
    assert meter.kind is EnergySourceKind.RAPL


def test_auto_then_estimate(tmp_path: Path) -> None:
    meter = select_energy_meter(EnergyChoice.AUTO, sysfs_root=tmp_path, vcgencmd=Vcgencmd(str(tmp_path / "absent")), cpu_power_w=5.0)
    assert meter.kind is EnergySourceKind.ESTIMATE


def test_forced_pmic_missing(tmp_path: Path) -> None:
    with pytest.raises(EnergySourceError, match="Raspberry Pi 5"):
        select_energy_meter(EnergyChoice.PMIC, sysfs_root=tmp_path, vcgencmd=Vcgencmd(str(tmp_path / "absent")))


def test_sensors_read_fake_tree(fake_sysfs: Path, fake_vcgencmd: Path) -> None:
    readings = SystemSensors(fake_sysfs, Vcgencmd(str(fake_vcgencmd))).read()
    assert readings.cpu_temp_c == 61.25
    assert readings.cpu_freq_mhz == 2400.0
    assert readings.throttled_flags == THROTTLED_FLAGS
    assert readings.rss_mb > 0


def test_sampler_keeps_worst(fake_sysfs: Path, fake_vcgencmd: Path) -> None:
    sampler = SystemSampler(SystemSensors(fake_sysfs, Vcgencmd(str(fake_vcgencmd))), period_s=0.01)
    sampler.start()
    (fake_sysfs / "sys/class/thermal/thermal_zone0/temp").write_text("85000\n")
    sampler.stop()
    assert sampler.max_temp_c == 85.0
    assert sampler.throttled_seen == THROTTLED_FLAGS
