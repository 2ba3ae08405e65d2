"""Replacement of an output folder so that a failed run leaves the earlier output intact.

A run writes into a work folder next to the output folder (same parent, so on the same file
system and every move is a rename). Only when the run succeeds are its entries swapped in: the
earlier run's entries are renamed into a backup folder, the new entries are renamed in, and the
backup is deleted. Files in the output folder that a run does not own stay where they are.

NOTE: a process killed during a run leaves its work folder (``.<name>.partial-*``) next to the
output folder, and a kill during the swap can also leave ``.<name>.previous-*``. Both are safe
to delete, and the next run does not reuse them.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from frugalclip_host.data.errors import DataError

__all__ = ["check_output_folder", "discard_work_folder", "make_work_folder", "replace_output"]

logger = logging.getLogger(__name__)


def check_output_folder(out_dir: Path, marker_file: str) -> None:
    """Raise DataError unless out_dir is missing, empty, or an earlier output with ``marker_file``."""
    if out_dir.exists() and not out_dir.is_dir():
        raise DataError(f"output path {out_dir} is a file; pass a folder.")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / marker_file).is_file():
        raise DataError(
            f"output folder {out_dir} is not empty and contains no {marker_file} of an earlier run, "
            "so it is not overwritten; pick an empty or new folder."
        )


def make_work_folder(out_dir: Path) -> Path:
    """Create and return an empty work folder next to out_dir, creating out_dir's parent if needed."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))


def discard_work_folder(work_dir: Path) -> None:
    shutil.rmtree(work_dir, ignore_errors=True)
    if work_dir.exists():
        logger.warning("could not remove the work folder %s; delete it by hand", work_dir)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def replace_output(work_dir: Path, out_dir: Path, owned_entries: list[str]) -> None:
    """Move every entry of work_dir into out_dir, replacing the owned entries of an earlier run.

    work_dir is gone afterwards. On an error or interrupt during the swap, the earlier entries are
    moved back before it is raised again.
    """
    if not out_dir.exists():
        os.replace(work_dir, out_dir)
        return
    if not any(out_dir.iterdir()):
        out_dir.rmdir()
        os.replace(work_dir, out_dir)
        return

    logger.info("replacing the earlier preparation in %s", out_dir)
    backup_dir = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.previous-", dir=out_dir.parent))
    backed_up: list[str] = []
    moved_in: list[str] = []
    try:
        for name in owned_entries:
            if (out_dir / name).exists() or (out_dir / name).is_symlink():
                os.replace(out_dir / name, backup_dir / name)
                backed_up.append(name)
        for entry in sorted(work_dir.iterdir()):
            os.replace(entry, out_dir / entry.name)
            moved_in.append(entry.name)
    except BaseException:  # also Ctrl-C: the earlier entries must not stay in the backup folder
        logger.error("swapping the new output into %s failed; restoring the earlier output", out_dir)
        for name in moved_in:
            _remove(out_dir / name)
        for name in backed_up:
            os.replace(backup_dir / name, out_dir / name)
        shutil.rmtree(backup_dir, ignore_errors=True)
        raise

    shutil.rmtree(backup_dir)
    work_dir.rmdir()
