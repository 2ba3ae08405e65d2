"""The benchmark suite end to end on a real small bundle and real photos: result schema, raw CSV, CLI."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bundle_factory import make_bundle
from frugalclip_device.bench.cli import register
from frugalclip_device.bench.dataset import DatasetError, find_images
from frugalclip_device.bench.result_schema import RAW_CSV_COLUMNS, load_result, validate_result
from frugalclip_device.bench.runner import BenchSettings, result_path, run_benchmark, save_run

TRASHNET = Path(os.environ.get("FRUGALCLIP_TRASHNET", Path(__file__).resolve().parents[2].parent / "shared" / "data" / "trashnet"))
LABELS = ("cardboard", "glass", "metal", "paper", "plastic", "trash")


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Class folders of real photos: two trashnet images per class, or scikit-image photos."""
    root = tmp_path_factory.mktemp("photos")
    if TRASHNET.is_dir():
        for label in LABELS:
            (root / label).mkdir()
            for source in sorted((TRASHNET / label).glob("*.jpg"))[:2]:
                (root / label / source.name).symlink_to(source)
        return root
    data = pytest.importorskip("skimage.data", reason="needs trashnet under ../shared/data or scikit-image photos")
    from PIL import Image

    for label, photo in zip(LABELS, (data.astronaut(), data.chelsea(), data.coffee(), data.rocket(), data.astronaut(), data.coffee())):
        (root / label).mkdir()
        Image.fromarray(photo).save(root / label / f"{label}.png")
    return root


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_bundle(tmp_path_factory.mktemp("bundle") / "bench-bundle", labels=LABELS, image_size=32,
                       variants=("fp32", "int8-dynamic-x86"))
    return root


@pytest.fixture(scope="module")
def tiny_bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same bundle with its weights marked tiny-random-init, so that accuracy is reported."""
    root = make_bundle(tmp_path_factory.mktemp("bundle") / "tiny-bundle", labels=LABELS, image_size=32)
    manifest_path = root / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["source_model"]["weights"] = "tiny-random-init"
    manifest_path.write_text(json.dumps(manifest))
    return root


@pytest.fixture(scope="module")
def bench_run(bundle_dir: Path, photo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    settings = BenchSettings(threads=[1, 2], runs=2, warmup=1, batch_size=4, rss_images=2)
    result, raw_rows = run_benchmark(bundle_dir, photo_dir, settings, command="test", run_command=None)
    path = save_run(result, raw_rows, result_path(tmp_path_factory.mktemp("results"), result))
    return result, path


def test_result_follows_schema(bench_run: tuple[dict, Path]) -> None:
    assert validate_result(bench_run[0]) == []


def test_result_file_reloads(bench_run: tuple[dict, Path]) -> None:
    assert load_result(bench_run[1])["rows"] == json.loads(bench_run[1].read_text())["rows"]


def test_result_path_is_machine_and_timestamp(bench_run: tuple[dict, Path]) -> None:
    result, path = bench_run
    assert path.parent.name == result["machine"]["name"]
    assert path.suffix == ".json"


def test_rows_per_variant_and_threads(bench_run: tuple[dict, Path]) -> None:
    keys = sorted((row["variant"], row["threads"]) for row in bench_run[0]["rows"])
    assert keys == [("fp32", 1), ("fp32", 2), ("int8-dynamic-x86", 1), ("int8-dynamic-x86", 2)]


def test_row_latency_counts(bench_run: tuple[dict, Path]) -> None:
    row = bench_run[0]["rows"][0]
    assert row["latency_total_ms"]["count"] == 2 * len(LABELS) * 2  # runs x images
    assert row["latency_total_ms"]["p50"] >= row["latency_model_ms"]["p50"]


def test_row_memory_and_size(bench_run: tuple[dict, Path]) -> None:
    row = bench_run[0]["rows"][0]
    assert row["peak_rss_bytes"] > 10 * 2**20
    assert row["size_bytes"] > 0


def test_row_energy_and_co2(bench_run: tuple[dict, Path]) -> None:
    row = bench_run[0]["rows"][0]
    assert row["energy_source"] in ("pmic", "rapl", "estimate")
    assert row["co2_g_per_1000"] >= 0.0


def test_random_weights_no_accuracy(bench_run: tuple[dict, Path]) -> None:
    row = bench_run[0]["rows"][0]
    assert row["accuracy"] is None
    assert row["weights_label"] == "random weights"


def test_identical_graphs_agree_fully(bench_run: tuple[dict, Path]) -> None:
    # Every variant of the factory bundle is the same fp32 graph.
    assert all(row["agreement_with_fp32"] == 1.0 for row in bench_run[0]["rows"])


def test_fingerprint_recorded(bench_run: tuple[dict, Path]) -> None:
    machine = bench_run[0]["machine"]
    assert machine["logical_cpus"] >= 1
    assert machine["onnxruntime"]


def test_raw_csv_rows(bench_run: tuple[dict, Path]) -> None:
    result, path = bench_run
    with open(path.with_suffix(".csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == RAW_CSV_COLUMNS
    assert len(rows) == sum(row["latency_total_ms"]["count"] for row in result["rows"])


def test_tiny_bundle_reports_accuracy(tiny_bundle_dir: Path, photo_dir: Path) -> None:
    settings = BenchSettings(threads=[1], runs=1, warmup=0, measure_rss=False)
    result, _ = run_benchmark(tiny_bundle_dir, photo_dir, settings, command="test", run_command=None)
    row = result["rows"][0]
    assert 0.0 <= row["accuracy"] <= 1.0
    assert row["macro_f1"] is not None
    assert "not a measure of CLIP accuracy" in row["weights_label"]


def test_throttled_run_marked_invalid(bundle_dir: Path, photo_dir: Path) -> None:
    def throttled_vcgencmd(arguments: list[str]) -> str:
        return "throttled=0x4\n"  # bit 2: throttled now

    settings = BenchSettings(variants=["fp32"], threads=[1], runs=1, warmup=0, measure_rss=False)
    result, _ = run_benchmark(bundle_dir, photo_dir, settings, command="test", run_command=throttled_vcgencmd)
    assert result["valid"] is False
    assert result["rows"][0]["valid"] is False


def test_validate_rejects_missing_field(bench_run: tuple[dict, Path]) -> None:
    broken = {key: value for key, value in bench_run[0].items() if key != "rows"}
    assert validate_result(broken) == ["missing field 'rows'"]


def test_validate_rejects_random_accuracy(bench_run: tuple[dict, Path]) -> None:
    broken = json.loads(json.dumps(bench_run[0]))
    broken["rows"][0]["accuracy"] = 0.5
    assert validate_result(broken) == ["rows[0] has random weights but reports an accuracy"]


def test_dataset_limit_balances_classes(photo_dir: Path) -> None:
    images = find_images(photo_dir, list(LABELS), limit=6)
    assert sorted(images.label_indices) == list(range(6))


def test_dataset_unknown_folders_unlabelled(photo_dir: Path) -> None:
    assert find_images(photo_dir, ["dog", "cat"]).labelled is False


def test_dataset_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        find_images(tmp_path / "absent", list(LABELS))


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    register(app)
    return app


def test_cli_writes_result(bundle_dir: Path, photo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    outcome = CliRunner().invoke(_app(), ["bench", "--model", str(bundle_dir), "--data", str(photo_dir),
                                          "--variants", "fp32", "--threads", "1", "--runs", "1", "--no-rss",
                                          "--out", str(out)])
    assert outcome.exit_code == 0, outcome.output
    assert load_result(out)["rows"][0]["variant"] == "fp32"


def test_cli_missing_bundle_exit_2(photo_dir: Path, tmp_path: Path) -> None:
    outcome = CliRunner().invoke(_app(), ["bench", "--model", str(tmp_path / "none"), "--data", str(photo_dir)])
    assert outcome.exit_code == 2
    assert "not found" in outcome.output


def test_cli_unknown_variant_exit_2(bundle_dir: Path, photo_dir: Path) -> None:
    outcome = CliRunner().invoke(_app(), ["bench", "--model", str(bundle_dir), "--data", str(photo_dir), "--variants", "fp64"])
    assert outcome.exit_code == 2
    assert "fp64" in outcome.output


def test_cli_bad_threads_rejected(bundle_dir: Path, photo_dir: Path) -> None:
    outcome = CliRunner().invoke(_app(), ["bench", "--model", str(bundle_dir), "--data", str(photo_dir), "--threads", "two"])
    assert outcome.exit_code != 0
