"""Tests of cleaning in prepare_dataset: broken files are dropped, odd modes become RGB, EXIF is applied."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from data_fixtures import (
    SMALL_OPTIONS,
    distinct_photos,
    write_16bit_png,
    write_cmyk_jpeg,
    write_exif_rotated_jpeg,
    write_mode_png,
    write_photo_tree,
    write_transparent_png,
    write_truncated_jpeg,
)
from PIL import Image

from frugalclip_host.data.prepare import prepare_dataset


def _prepare_with(tmp_path: Path, name: str, writer) -> tuple[dict, Path]:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 4, "dog": 4})
    writer(source / "cat" / name)
    prepared = prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS)
    return prepared.report, prepared.out_dir


def _entry(entries: list[dict], path: str) -> dict:
    matches = [entry for entry in entries if entry["path"] == path]
    assert len(matches) == 1, f"{path} listed {len(matches)} times in {entries}"
    return matches[0]


def _output_image(out_dir: Path, report: dict, path: str) -> Image.Image:
    return Image.open(out_dir / _entry(report["changed"], path)["output"])


@pytest.mark.parametrize(
    ("name", "writer", "reason"),
    [
        ("random.jpg", lambda path: path.write_bytes(np.random.default_rng(0).bytes(2048)), "undecodable"),
        ("half.jpg", write_truncated_jpeg, "truncated"),
        ("empty.jpg", lambda path: path.write_bytes(b""), "empty_file"),
        ("notes.txt", lambda path: path.write_text("not a photo\n"), "not_an_image"),
    ],
)
def test_broken_file_dropped(tmp_path: Path, name: str, writer, reason: str) -> None:
    report, out_dir = _prepare_with(tmp_path, name, writer)

    assert _entry(report["dropped"], f"cat/{name}")["reason"] == reason
    assert not list(out_dir.rglob(Path(name).stem + ".*"))


@pytest.mark.parametrize(
    ("name", "writer", "source_mode"),
    [
        ("cmyk.jpg", write_cmyk_jpeg, "CMYK"),
        ("grey.png", lambda path: write_mode_png(path, "L"), "L"),
        ("palette.png", lambda path: write_mode_png(path, "P"), "P"),
        ("grey-alpha.png", lambda path: write_mode_png(path, "LA"), "LA"),
        ("alpha.png", write_transparent_png, "RGBA"),
        ("deep.png", write_16bit_png, "I;16"),
    ],
)
def test_mode_converted_to_rgb(tmp_path: Path, name: str, writer, source_mode: str) -> None:
    report, out_dir = _prepare_with(tmp_path, name, writer)
    entry = _entry(report["changed"], f"cat/{name}")
    conversions = [change["detail"] for change in entry["changes"] if change["kind"] == "mode_conversion"]

    assert conversions[0].startswith(f"{source_mode} -> RGB")
    assert _output_image(out_dir, report, f"cat/{name}").mode == "RGB"


def test_transparency_composited_white(tmp_path: Path) -> None:
    report, out_dir = _prepare_with(tmp_path, "alpha.png", write_transparent_png)
    pixels = np.asarray(_output_image(out_dir, report, "cat/alpha.png"))

    assert pixels[:, : pixels.shape[1] // 2 - 1].min() == 255


def test_16bit_white_maps_to_255(tmp_path: Path) -> None:
    report, out_dir = _prepare_with(tmp_path, "deep.png", write_16bit_png)
    pixels = np.asarray(_output_image(out_dir, report, "cat/deep.png"))

    assert pixels[0, 0].tolist() == [255, 255, 255]


def test_exif_orientation_applied(tmp_path: Path) -> None:
    report, out_dir = _prepare_with(tmp_path, "rotated.jpg", write_exif_rotated_jpeg)
    entry = _entry(report["changed"], "cat/rotated.jpg")

    assert "exif_orientation" in [change["kind"] for change in entry["changes"]]
    assert _output_image(out_dir, report, "cat/rotated.jpg").size == (32, 64)


def test_unchanged_jpeg_copied_bytes(tmp_path: Path) -> None:
    source = tmp_path / "source"
    paths = write_photo_tree(source, {"cat": 4, "dog": 4})
    prepared = prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS)
    outputs = {path.name: path for entries in prepared.splits.values() for path, _ in entries}

    assert outputs["cat-00.jpg"].read_bytes() == paths["cat"][0].read_bytes()


def test_small_image_flagged_not_upscaled(tmp_path: Path) -> None:
    def write_tiny(path: Path) -> None:
        distinct_photos()[-7].resize((20, 16)).save(path)

    report, out_dir = _prepare_with(tmp_path, "tiny.png", write_tiny)
    entry = _entry(report["changed"], "cat/tiny.png")

    assert entry["flags"] == ["smaller_than_input"]
    assert _output_image(out_dir, report, "cat/tiny.png").size == (20, 16)


def test_hidden_and_stray_files_reported(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 4, "dog": 4})
    (source / "README.txt").write_text("about\n")
    (source / "cat" / ".DS_Store").write_bytes(b"\x00\x01")
    (source / ".cache").mkdir()
    (source / ".cache" / "x.jpg").write_bytes(b"\xff\xd8")
    report = prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS).report
    reasons = {entry["path"]: entry["reason"] for entry in report["dropped"]}

    assert reasons == {
        "README.txt": "outside_class_folder",
        "cat/.DS_Store": "hidden",
        ".cache/x.jpg": "hidden",
    }


def test_report_lists_every_dropped_file(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 4, "dog": 4})
    bad = {"cat/random.jpg", "cat/half.jpg", "dog/empty.png", "dog/notes.md"}
    (source / "cat" / "random.jpg").write_bytes(b"\x00" * 512)
    write_truncated_jpeg(source / "cat" / "half.jpg")
    (source / "dog" / "empty.png").write_bytes(b"")
    (source / "dog" / "notes.md").write_text("# notes\n")
    prepared = prepare_dataset(source, tmp_path / "out", SMALL_OPTIONS)
    on_disk = json.loads(prepared.report_path.read_text(encoding="utf-8"))
    counts = on_disk["counts"]

    assert {entry["path"] for entry in on_disk["dropped"]} == bad
    assert counts["files_found"] == counts["images_kept"] + counts["files_dropped"]
    assert counts["files_found"] == 12
    assert "cat/half.jpg" in prepared.summary_path.read_text(encoding="utf-8")
