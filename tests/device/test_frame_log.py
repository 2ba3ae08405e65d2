"""The per-frame CSV: never overwritten, partial rows removed, columns documented."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from frugalclip_device.frame_log import CSV_COLUMNS, FrameLog, FrameLogError

README = Path(__file__).resolve().parents[2] / "device" / "README.md"


def test_new_file_never_overwrites(tmp_path: Path) -> None:
    existing = tmp_path / "run.csv"
    existing.write_text("keep me\n")
    log = FrameLog(tmp_path, "run")
    log.close()
    assert log.path.name == "run-2.csv"
    assert existing.read_text() == "keep me\n"


def test_rows_parse_with_header(tmp_path: Path) -> None:
    log = FrameLog(tmp_path, "run")
    log.write_row([f"value, {index}" for index in range(len(CSV_COLUMNS))])
    log.close()
    with open(log.path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["frame_index"] == "value, 1"


def test_unwritable_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(FrameLogError, match="--log"):
        FrameLog(blocker / "runs", "run")


def test_columns_documented_in_readme() -> None:
    if not README.is_file():
        pytest.skip(f"{README} is not in this checkout")
    documented = re.findall(r"^\| `([a-z0-9_]+)` \|", README.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert tuple(documented[: len(CSV_COLUMNS)]) == CSV_COLUMNS


def test_failed_header_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    from frugalclip_device import frame_log

    def full_disk(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(frame_log.os, "write", full_disk)
    with pytest.raises(FrameLogError, match="disk is full"):
        FrameLog(tmp_path, "run")
    monkeypatch.setattr(frame_log.os, "write", os.write)
    assert list(tmp_path.iterdir()) == []
