"""The per-frame CSV: a new file per run, one row per frame, each row on disk before the next frame.

Rows are written with one ``os.write`` each, without a user-space buffer, so a process
killed at any moment (``kill -9``) leaves every completed row in the file. They are not
fsync'ed: a power cut can still lose the rows the kernel had not written out yet.
"""

from __future__ import annotations

import csv
import errno
import io
import logging
import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["CSV_COLUMNS", "FrameLog", "FrameLogError"]

logger = logging.getLogger(__name__)

# The documented columns, in file order (device/README.md describes each one).
CSV_COLUMNS = (
    "utc_timestamp",
    "frame_index",
    "source",
    "source_frame",
    "label",
    "confidence",
    "top_k",
    "capture_ms",
    "frame_age_ms",
    "wait_ms",
    "preprocess_ms",
    "inference_ms",
    "postprocess_ms",
    "total_ms",
    "log_ms",
    "rolling_fps",
    "dropped_frames",
    "corrupt_frames",
    "source_failures",
    "cpu_temp_c",
    "cpu_freq_mhz",
    "throttled",
    "power_w",
    "energy_j",
    "energy_source",
    "rss_mb",
)

MAX_NAME_ATTEMPTS = 1000


class FrameLogError(Exception):
    """The CSV cannot be created or written (permissions, disk full)."""


class FrameLog:
    """Creates ``<log_dir>/<stem>.csv`` (or ``<stem>-2.csv`` ... if taken) and appends rows."""

    def __init__(self, log_dir: Path, stem: str) -> None:
        self.log_dir = Path(log_dir)
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise FrameLogError(f"cannot create the log folder {self.log_dir}: {error}; pass a writable folder with --log") from error
        self.path, self._fd = self._create_new_file(stem)
        self._size = 0
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\n")
        self.rows_written = 0
        try:
            self._write_line(CSV_COLUMNS)
        except FrameLogError:
            # Remove the file, because a CSV without its header cannot be parsed.
            os.close(self._fd)
            self.path.unlink(missing_ok=True)
            raise
        logger.info("writing frames to %s", self.path)

    def _create_new_file(self, stem: str) -> tuple[Path, int]:
        for attempt in range(1, MAX_NAME_ATTEMPTS + 1):
            path = self.log_dir / (f"{stem}.csv" if attempt == 1 else f"{stem}-{attempt}.csv")
            try:
                # O_EXCL: never open, let alone truncate, a file that already exists.
                return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                continue
            except OSError as error:
                raise FrameLogError(f"cannot create {path}: {error}; pass a writable folder with --log") from error
        raise FrameLogError(f"{self.log_dir} already has {MAX_NAME_ATTEMPTS} logs named {stem}*: pass another folder with --log")

    @property
    def stem(self) -> str:
        return self.path.stem

    def _write_line(self, values: Sequence[object]) -> None:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow(values)
        data = self._buffer.getvalue().encode("utf-8")
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as error:
            self._drop_partial_line()
            reason = "the disk is full" if error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT) else "write failed"
            raise FrameLogError(f"cannot write {self.path} ({reason}): {error}") from error
        self._size += len(data)

    def _drop_partial_line(self) -> None:
        """Cut a half-written row so the file still parses; truncating also frees space on a full disk."""
        try:
            os.ftruncate(self._fd, self._size)
            os.lseek(self._fd, self._size, os.SEEK_SET)
        except OSError as error:
            logger.warning("could not remove a partial row from %s: %s", self.path, error)

    def write_row(self, values: Sequence[object]) -> None:
        """Append one row; raises FrameLogError after removing any partial row."""
        self._write_line(values)
        self.rows_written += 1

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)
