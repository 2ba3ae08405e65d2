"""`frugalclip bench compare` on synthetic result files and a live-run CSV."""

from __future__ import annotations

import copy
import csv
from pathlib import Path

import pytest

from frugalclip_device.bench.result_schema import RESULT_SCHEMA_VERSION, write_result
from frugalclip_device.bench.stats import summarize_ms
from frugalclip_host.bench.compare import PLOT_FILES, render_report
from frugalclip_host.bench.live_run import LiveRunError, summarize_live_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _row(variant: str, samples_ms: list[float], *, kind: str = "bundle-variant", weights: str = "tiny-random-init",
         accuracy: float | None = 0.8, energy_j: float | None = 0.5) -> dict:
    return {
        "kind": kind, "variant": variant, "weights": weights, "weights_label": weights, "threads": 2,
        "valid": True, "invalid_reasons": [], "size_bytes": 4_000_000, "peak_rss_bytes": 150_000_000,
        "accuracy": accuracy, "agreement_with_fp32": 1.0,
        "latency_model_ms": summarize_ms([value * 0.8 for value in samples_ms]),
        "latency_total_ms": summarize_ms(samples_ms), "latency_total_ms_samples": samples_ms,
        "fps_end_to_end": 1000 / (sum(samples_ms) / len(samples_ms)),
        "energy_per_inference_j": energy_j, "energy_source": "estimate" if energy_j else None,
        "co2_g_per_1000": 0.01 if energy_j else None,
    }


def _result(machine: str, rows: list[dict]) -> dict:
    return {
        "schema_version": RESULT_SCHEMA_VERSION, "kind": "frugalclip-benchmark",
        "created_utc": "2026-12-04T21:00:00Z", "command": f"frugalclip-device bench --model models/x  # {machine}",
        "valid": True, "invalid_reasons": [],
        "machine": {"name": machine, "cpu_model": "test CPU", "logical_cpus": 4},
        "bundle": {"name": "trashnet-tiny", "weights": "tiny-random-init"},
        "data": {"path": "data", "images": 3, "labelled": True}, "settings": {"threads": [2]}, "rows": rows,
    }


@pytest.fixture()
def result_files(tmp_path: Path) -> list[Path]:
    host = _result("host-x86", [
        _row("fp32", [40.0, 42.0, 45.0]),
        _row("int8-dynamic-x86", [12.0, 13.0, 15.0], accuracy=0.79),
        _row("transformers-fp32", [400.0, 410.0, 430.0], kind="naive-baseline", energy_j=None),
    ])
    host["rows"][1]["vs_baseline"] = {"speedup_p50_total": 31.5, "peak_rss_fraction": 0.3}
    host["bundle"]["variants"] = {"fp32": {"size_bytes": 16_000_000}}
    host["bundle"]["macs_per_image"] = 4_400_000_000
    pi = _result("raspberry-pi-5", [_row("int8-dynamic-pi5", [90.0, 95.0, 99.0], accuracy=0.78)])
    throttled = copy.deepcopy(pi["rows"][0])
    throttled.update(variant="fp32", valid=False, invalid_reasons=["vcgencmd: throttled now"])
    pi["rows"].append(throttled)
    return [write_result(host, tmp_path / "host.json"), write_result(pi, tmp_path / "pi.json")]


def test_compare_one_row_per_machine_and_variant(result_files: list[Path], tmp_path: Path) -> None:
    markdown = render_report(result_files, tmp_path / "report" / "RESULTS.md")
    table_rows = [line for line in markdown.splitlines() if line.startswith("| host-x86") or line.startswith("| raspberry-pi-5")]
    assert len(table_rows) == 5


def test_compare_speedup_column(result_files: list[Path], tmp_path: Path) -> None:
    markdown = render_report(result_files, tmp_path / "RESULTS.md")
    assert "| 31.5x |" in markdown


def test_compare_invalid_row_hides_figures(result_files: list[Path], tmp_path: Path) -> None:
    markdown = render_report(result_files, tmp_path / "RESULTS.md")
    line = next(line for line in markdown.splitlines() if "raspberry-pi-5" in line and "| fp32 |" in line)
    assert "invalid: vcgencmd: throttled now" in line
    assert "99.0" not in line


def test_compare_labels_tiny_accuracy(result_files: list[Path], tmp_path: Path) -> None:
    markdown = render_report(result_files, tmp_path / "RESULTS.md")
    assert "0.790 (tiny random-init)" in markdown


def test_compare_random_weights_no_accuracy(tmp_path: Path) -> None:
    path = write_result(_result("host", [_row("fp32", [60.0, 61.0], weights="random", accuracy=None)]), tmp_path / "r.json")
    markdown = render_report([path], tmp_path / "RESULTS.md")
    assert "| random weights |" in markdown


def test_compare_writes_png_plots(result_files: list[Path], tmp_path: Path) -> None:
    render_report(result_files, tmp_path / "RESULTS.md")
    for name in PLOT_FILES.values():
        assert (tmp_path / "plots" / name).read_bytes()[:8] == PNG_SIGNATURE, name


def test_compare_links_plots(result_files: list[Path], tmp_path: Path) -> None:
    markdown = render_report(result_files, tmp_path / "RESULTS.md")
    assert f"(plots/{PLOT_FILES['latency']})" in markdown


def test_compare_records_commands(result_files: list[Path], tmp_path: Path) -> None:
    markdown = render_report(result_files, tmp_path / "RESULTS.md")
    assert "frugalclip-device bench --model models/x  # raspberry-pi-5" in markdown


def test_compare_rejects_invalid_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"schema_version": 1}')
    with pytest.raises(ValueError, match="not a valid benchmark result"):
        render_report([path], tmp_path / "RESULTS.md")


def _live_csv(path: Path) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["frame_index", "preprocess_ms", "inference_ms", "total_ms", "log_ms", "energy_j", "energy_source"])
        writer.writerow([0, 1.0, 18.0, 20.0, "", 0.1, "estimate"])
        writer.writerow([1, 1.0, 18.0, 20.0, 1.0, 0.1, "estimate"])
        writer.writerow([2, 1.0, 18.0, 20.0, 1.0, 0.1, "estimate"])
    return path


def test_live_run_overhead_fraction(tmp_path: Path) -> None:
    summary = summarize_live_run(_live_csv(tmp_path / "run.csv"))
    # frames 0 and 1 carry the next row's 1 ms of logging: (3+3+2) ms outside the session of 62 ms
    assert summary["overhead_fraction"] == pytest.approx(8 / 62)


def test_live_run_frames_and_energy(tmp_path: Path) -> None:
    summary = summarize_live_run(_live_csv(tmp_path / "run.csv"))
    assert summary["frames"] == 3
    assert summary["energy_per_frame_j"] == pytest.approx(0.1)


def test_live_run_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("frame,ms\n0,1\n")
    with pytest.raises(LiveRunError, match="session time column"):
        summarize_live_run(path)


def test_compare_includes_live_run(result_files: list[Path], tmp_path: Path) -> None:
    markdown = render_report([*result_files, _live_csv(tmp_path / "live.csv")], tmp_path / "RESULTS.md")
    assert "| `live.csv` | 3 |" in markdown


def test_compare_targets_speedup_met(result_files: list[Path], tmp_path: Path) -> None:
    markdown = render_report(result_files, tmp_path / "RESULTS.md")
    assert "| p50 latency ≥ 10x lower than the naive baseline | 31.5x | yes |" in markdown


def test_compare_targets_rss_missed(result_files: list[Path], tmp_path: Path) -> None:
    markdown = render_report(result_files, tmp_path / "RESULTS.md")
    assert "| peak RSS ≤ 25% of the baseline's | 30.0% | **no** |" in markdown


def test_compare_targets_size_fraction(result_files: list[Path], tmp_path: Path) -> None:
    markdown = render_report(result_files, tmp_path / "RESULTS.md")
    assert "| file ≤ 26% of fp32 | 25.0% (4.0 MB of 16.0 MB) | yes |" in markdown


def test_compare_targets_live_overhead(tmp_path: Path) -> None:
    markdown = render_report([_live_csv(tmp_path / "live.csv")], tmp_path / "RESULTS.md")
    assert "| runtime overhead < 10% of frame time | 12.9% over 3 frames | **no** |" in markdown


def test_compare_inserts_notes(result_files: list[Path], tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("## Conditions\n\nShared machine, load average 4.\n")
    markdown = render_report(result_files, tmp_path / "RESULTS.md", notes=notes)
    assert "Shared machine, load average 4." in markdown


def test_compare_targets_skip_small_models(tmp_path: Path) -> None:
    small = _result("host", [_row("int8-dynamic-x86", [5.0, 6.0])])
    small["rows"][0]["vs_baseline"] = {"speedup_p50_total": 2.0}
    small["bundle"]["macs_per_image"] = 15_000_000
    markdown = render_report([write_result(small, tmp_path / "small.json")], tmp_path / "RESULTS.md")
    assert "lower than the naive baseline" not in markdown
