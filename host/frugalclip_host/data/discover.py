"""Listing of an ImageFolder tree: class folders, their files, and files that belong to no class."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from frugalclip_host.data.errors import DataError
from frugalclip_host.data.records import DropReason, DroppedFile

__all__ = ["SourceTree", "discover_source"]

_LAYOUT_HINT = "Expected an ImageFolder tree: SOURCE/<class name>/<image files>."


@dataclass(frozen=True)
class SourceTree:
    root: Path
    classes: list[str]  # sorted; the index in this list is the class index
    files: dict[str, list[Path]]  # class name -> files below its folder, sorted, recursive
    ignored: list[DroppedFile]  # hidden entries and files outside class folders


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def discover_source(source: Path) -> SourceTree:
    """List the class folders and their files; raise DataError for a missing or unusable tree.

    Class folders are the non-hidden subfolders of SOURCE. Files in nested folders of a class
    belong to that class. Hidden files and folders (name starting with ".") are ignored and
    reported, as are files directly in SOURCE.
    """
    if not source.exists():
        raise DataError(f"source folder {source} not found. {_LAYOUT_HINT}")
    if not source.is_dir():
        raise DataError(f"source {source} is not a folder. {_LAYOUT_HINT}")

    ignored: list[DroppedFile] = []
    class_dirs: list[Path] = []
    for entry in sorted(source.iterdir()):
        if entry.name.startswith("."):
            hidden_files = [entry] if entry.is_file() else sorted(p for p in entry.rglob("*") if p.is_file())
            for path in hidden_files:
                ignored.append(DroppedFile(_relative(path, source), None, DropReason.HIDDEN, "hidden entry"))
        elif entry.is_dir():
            class_dirs.append(entry)
        else:
            ignored.append(
                DroppedFile(
                    _relative(entry, source),
                    None,
                    DropReason.OUTSIDE_CLASS_FOLDER,
                    "file directly in SOURCE; move it into SOURCE/<class>/",
                )
            )

    if len(class_dirs) < 2:
        found = ", ".join(d.name for d in class_dirs) or "none"
        raise DataError(
            f"source folder {source} contains {len(class_dirs)} class folder(s) (found: {found}); "
            f"a classifier needs at least 2. {_LAYOUT_HINT}"
        )

    files: dict[str, list[Path]] = {}
    empty: list[str] = []
    for class_dir in class_dirs:
        class_files: list[Path] = []
        for path in sorted(p for p in class_dir.rglob("*") if p.is_file()):
            if _is_hidden(path, class_dir):
                ignored.append(
                    DroppedFile(_relative(path, source), class_dir.name, DropReason.HIDDEN, "hidden entry")
                )
            else:
                class_files.append(path)
        if not class_files:
            empty.append(str(class_dir))
        files[class_dir.name] = class_files

    if empty:
        raise DataError(
            f"class folder(s) without files: {', '.join(empty)}. Add images to them or remove them."
        )
    return SourceTree(root=source, classes=sorted(files), files=files, ignored=ignored)
