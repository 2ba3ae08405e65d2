"""Benchmark image selection: undecodable files skipped and listed, round-robin limits, labelled or not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from bundle_factory import make_bundle
from frugalclip_device.bench.cli import register
from frugalclip_device.bench.dataset import DatasetError, find_images
from frugalclip_device.bench.result_schema import load_result
from frugalclip_device.bench.runner import BenchSettings, run_benchmark

CLASSES = ("cardboard", "glass", "metal")


def _photo(path: Path, shade: int) -> Path:
    Image.new("RGB", (48, 40), (shade, 255 - shade, 128)).save(path, quality=90)
    return path


def _class_folders(root: Path, per_class: int, classes: tuple[str, ...] = CLASSES) -> Path:
    for position, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            _photo(root / name / f"{name}{index}.jpg", 40 * position + index)
    return root


def _break_images(root: Path) -> list[Path]:
    """Add a truncated JPEG and a zero-byte .jpg to the first class folder."""
    folder = root / CLASSES[0]
    truncated = folder / "a-truncated.jpg"
    truncated.write_bytes(_photo(folder / "source.jpg", 7).read_bytes()[:200])
    (folder / "source.jpg").unlink()
    empty = folder / "b-empty.jpg"
    empty.write_bytes(b"")
    return [truncated, empty]


@pytest.fixture()
def broken_dir(tmp_path: Path) -> tuple[Path, list[Path]]:
    root = _class_folders(tmp_path / "data", per_class=2)
    return root, _break_images(root)


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_bundle(tmp_path_factory.mktemp("bundle") / "bench", labels=CLASSES, image_size=32, variants=("fp32",))
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["source_model"]["weights"] = "tiny-random-init"
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def test_undecodable_files_skipped(broken_dir: tuple[Path, list[Path]]) -> None:
    root, broken = broken_dir
    images = find_images(root, list(CLASSES))
    assert sorted(item.path for item in images.skipped) == sorted(broken)


def test_undecodable_files_not_benchmarked(broken_dir: tuple[Path, list[Path]]) -> None:
    root, broken = broken_dir
    assert not set(broken) & set(find_images(root, list(CLASSES)).paths)


def test_undecodable_files_logged(broken_dir: tuple[Path, list[Path]], caplog: pytest.LogCaptureFixture) -> None:
    find_images(broken_dir[0], list(CLASSES))
    assert "skipped 2 undecodable image file(s)" in caplog.text


def test_only_undecodable_files_raises(tmp_path: Path) -> None:
    (tmp_path / CLASSES[0]).mkdir()
    (tmp_path / CLASSES[0] / "empty.jpg").write_bytes(b"")
    with pytest.raises(DatasetError, match="no decodable images"):
        find_images(tmp_path, list(CLASSES))


def test_limit_stays_balanced_past_broken_file(broken_dir: tuple[Path, list[Path]]) -> None:
    images = find_images(broken_dir[0], list(CLASSES), limit=6)
    assert images.images_per_folder == {name: 2 for name in CLASSES}


def test_limit_round_robin_on_unknown_folders(tmp_path: Path) -> None:
    root = _class_folders(tmp_path, per_class=4)
    images = find_images(root, ["face", "non-face"], limit=6)
    assert images.images_per_folder == {name: 2 for name in CLASSES}


def test_limit_round_robin_includes_top_level(tmp_path: Path) -> None:
    root = _class_folders(tmp_path, per_class=3)
    for index in range(3):
        _photo(root / f"loose{index}.jpg", index)
    images = find_images(root, list(CLASSES), limit=4)
    assert images.images_per_folder == {".": 1, **{name: 1 for name in CLASSES}}


def test_top_level_images_make_data_unlabelled(tmp_path: Path) -> None:
    root = _class_folders(tmp_path, per_class=1)
    _photo(root / "loose.jpg", 1)
    assert find_images(root, list(CLASSES)).labelled is False


def test_unknown_folders_recorded(tmp_path: Path) -> None:
    root = _class_folders(tmp_path, per_class=1)
    assert find_images(root, ["face", "non-face"]).unknown_folders == list(CLASSES)


def test_subset_of_labels_is_labelled(tmp_path: Path) -> None:
    root = _class_folders(tmp_path, per_class=1, classes=CLASSES[:2])
    assert find_images(root, list(CLASSES)).label_indices == [0, 1]


def test_run_records_skipped_files(bundle_dir: Path, broken_dir: tuple[Path, list[Path]]) -> None:
    root, broken = broken_dir
    settings = BenchSettings(threads=[1], runs=1, warmup=0, measure_rss=False)
    result, _ = run_benchmark(bundle_dir, root, settings, command="test", run_command=None)
    assert result["data"]["skipped_images"] == 2
    assert sorted(result["data"]["skipped_image_paths"]) == sorted(str(path) for path in broken)


def test_run_on_foreign_folders_reports_no_accuracy(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "demo", labels=("face", "non-face"), image_size=32, variants=("fp32",))
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["source_model"]["weights"] = "tiny-random-init"
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    settings = BenchSettings(threads=[1], runs=1, warmup=0, measure_rss=False, limit=3)
    result, _ = run_benchmark(bundle, _class_folders(tmp_path / "data", per_class=2), settings, command="test",
                              run_command=None)
    assert result["rows"][0]["accuracy"] is None


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    register(app)
    return app


def test_cli_skips_broken_files(bundle_dir: Path, broken_dir: tuple[Path, list[Path]], tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    outcome = CliRunner().invoke(_app(), ["bench", "--model", str(bundle_dir), "--data", str(broken_dir[0]),
                                          "--threads", "1", "--runs", "1", "--warmup", "0", "--no-rss", "--out", str(out)])
    assert outcome.exit_code == 0, outcome.output
    assert "skipped 2 undecodable image file(s)" in outcome.output


def test_cli_result_lists_broken_files(bundle_dir: Path, broken_dir: tuple[Path, list[Path]], tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    CliRunner().invoke(_app(), ["bench", "--model", str(bundle_dir), "--data", str(broken_dir[0]),
                                "--threads", "1", "--runs", "1", "--warmup", "0", "--no-rss", "--out", str(out)])
    assert load_result(out)["data"]["skipped_images"] == 2


def test_cli_all_broken_exit_2(bundle_dir: Path, tmp_path: Path) -> None:
    (tmp_path / CLASSES[0]).mkdir()
    (tmp_path / CLASSES[0] / "empty.jpg").write_bytes(b"")
    outcome = CliRunner().invoke(_app(), ["bench", "--model", str(bundle_dir), "--data", str(tmp_path), "--no-rss"])
    assert outcome.exit_code == 2
    assert "no decodable images" in outcome.output


@pytest.mark.parametrize("option", ["--runs", "--batch-size", "--limit"])
def test_cli_rejects_zero(bundle_dir: Path, tmp_path: Path, option: str) -> None:
    outcome = CliRunner().invoke(_app(), ["bench", "--model", str(bundle_dir), "--data", str(tmp_path), option, "0"])
    assert outcome.exit_code == 2
    assert "greater than or equal to 1" in outcome.output


def test_cli_help_shows_minimum() -> None:
    outcome = CliRunner().invoke(_app(), ["bench", "--help"], env={"COLUMNS": "200"})
    assert outcome.output.count("x>=1") >= 3
