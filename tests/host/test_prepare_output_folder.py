"""Tests of re-running prepare_dataset into an earlier output: a failed run must leave it intact."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from data_fixtures import SMALL_OPTIONS, tree_hashes, write_photo_tree

from frugalclip_host.data import output_folder, prepare
from frugalclip_host.data.prepare import DataError, prepare_dataset


def _prepare_once(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """Prepare a 2-class tree into tmp_path/out; return the source, the output and its file hashes."""
    source = tmp_path / "source"
    write_photo_tree(source, {"cat": 5, "dog": 5})
    out_dir = tmp_path / "out"
    prepare_dataset(source, out_dir, SMALL_OPTIONS)
    return source, out_dir, tree_hashes(out_dir)


def _leftovers(tmp_path: Path) -> list[str]:
    return sorted(path.name for path in tmp_path.iterdir() if path.name not in ("source", "out"))


def test_failed_step_keeps_earlier_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, out_dir, before = _prepare_once(tmp_path)
    (source / "cat" / "cat-00.jpg").unlink()

    def fail(report: dict) -> str:
        raise RuntimeError("simulated failure while writing data_report.md")

    monkeypatch.setattr(prepare, "render_summary", fail)
    with pytest.raises(RuntimeError, match="simulated failure"):
        prepare_dataset(source, out_dir, SMALL_OPTIONS)

    assert tree_hashes(out_dir) == before
    assert _leftovers(tmp_path) == []


def test_data_error_keeps_earlier_output(tmp_path: Path) -> None:
    source, out_dir, before = _prepare_once(tmp_path)
    for path in sorted((source / "dog").iterdir())[1:]:
        path.unlink()

    with pytest.raises(DataError, match="class 'dog'"):
        prepare_dataset(source, out_dir, SMALL_OPTIONS)

    assert tree_hashes(out_dir) == before
    assert _leftovers(tmp_path) == []


def test_failed_swap_restores_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, out_dir, before = _prepare_once(tmp_path)
    (source / "cat" / "cat-00.jpg").unlink()
    real_replace = os.replace
    moved_in: list[str] = []

    def replace_failing_on_second_entry(src, dst) -> None:
        # Fail after one new entry has been moved from the work folder into out_dir.
        if Path(src).parent.name.startswith(".out.partial-") and Path(dst).parent == out_dir:
            if moved_in:
                raise OSError(f"simulated rename failure for {src}")
            moved_in.append(Path(src).name)
        real_replace(src, dst)

    monkeypatch.setattr(output_folder.os, "replace", replace_failing_on_second_entry)
    with pytest.raises(OSError, match="simulated rename failure"):
        prepare_dataset(source, out_dir, SMALL_OPTIONS)

    assert len(moved_in) == 1
    assert tree_hashes(out_dir) == before
    assert _leftovers(tmp_path) == []


def test_rerun_keeps_foreign_files(tmp_path: Path) -> None:
    source, out_dir, _ = _prepare_once(tmp_path)
    (out_dir / "notes.txt").write_text("keep me\n")
    (source / "dog" / "dog-04.jpg").unlink()
    prepared = prepare_dataset(source, out_dir, SMALL_OPTIONS)

    assert (out_dir / "notes.txt").read_text() == "keep me\n"
    assert prepared.report["counts"]["images_kept"] == 9
    assert _leftovers(tmp_path) == []


def test_rerun_removes_stale_class(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write_photo_tree(source, {"bird": 5, "cat": 5, "dog": 5})
    out_dir = tmp_path / "out"
    prepare_dataset(source, out_dir, SMALL_OPTIONS)
    shutil.rmtree(source / "bird")
    prepared = prepare_dataset(source, out_dir, SMALL_OPTIONS)

    assert prepared.classes == ["cat", "dog"]
    assert list(out_dir.glob("*/bird")) == []


def test_new_output_paths_exist(tmp_path: Path) -> None:
    _, out_dir, _ = _prepare_once(tmp_path)
    prepared = prepare_dataset(tmp_path / "source", out_dir, SMALL_OPTIONS)
    paths = [path for entries in prepared.splits.values() for path, _ in entries]

    assert all(path.is_file() for path in paths)
    assert all(path.parent.parent.parent == out_dir for path in paths)
    assert prepared.report_path.is_file()
    assert prepared.summary_path.is_file()


def test_interrupted_swap_restores_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, out_dir, before = _prepare_once(tmp_path)
    (source / "cat" / "cat-00.jpg").unlink()
    real_replace = os.replace
    moved_in: list[str] = []

    def replace_interrupted_on_second_entry(src, dst) -> None:
        # Ctrl-C after one new entry has been moved from the work folder into out_dir.
        if Path(src).parent.name.startswith(".out.partial-") and Path(dst).parent == out_dir:
            if moved_in:
                raise KeyboardInterrupt
            moved_in.append(Path(src).name)
        real_replace(src, dst)

    monkeypatch.setattr(output_folder.os, "replace", replace_interrupted_on_second_entry)
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset(source, out_dir, SMALL_OPTIONS)

    assert tree_hashes(out_dir) == before
