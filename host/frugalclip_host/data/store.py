"""Writing a cleaned image: the source bytes when nothing changed, else a lossless PNG."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from frugalclip_host.data.clean import CleanedImage
from frugalclip_host.data.records import Change, ChangeKind

__all__ = ["COPIED_FORMATS", "write_output"]

# Source files in these formats are copied byte for byte when cleaning changed nothing, so a
# JPEG is not compressed a second time. Every other kept image is written as PNG.
COPIED_FORMATS = {"JPEG": (".jpg", ".jpeg"), "PNG": (".png",)}


def _copy_suffix(cleaned: CleanedImage, source: Path) -> str | None:
    """Return the suffix to copy the source under, or None when it must be re-encoded."""
    if cleaned.changes:
        return None
    suffixes = COPIED_FORMATS.get(cleaned.source_format or "")
    if suffixes is None:
        return None
    suffix = source.suffix.lower()
    # A JPEG named .png would mislead readers that trust the extension.
    return suffix if suffix in suffixes else suffixes[0]


def write_output(cleaned: CleanedImage, source: Path, stem_path: Path) -> tuple[Path, str]:
    """Write the image to ``stem_path`` plus a suffix; return the path and the file's SHA-256.

    Appends a REENCODED change to ``cleaned.changes`` when the image is written as PNG.
    """
    copy_suffix = _copy_suffix(cleaned, source)
    if copy_suffix is not None:
        payload = source.read_bytes()
        destination = stem_path.with_name(stem_path.name + copy_suffix)
    else:
        buffer = io.BytesIO()
        cleaned.image.save(buffer, format="PNG")
        payload = buffer.getvalue()
        destination = stem_path.with_name(stem_path.name + ".png")
        cleaned.changes.append(Change(ChangeKind.REENCODED, f"{cleaned.source_format} -> PNG"))

    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_bytes(payload)
    return destination, hashlib.sha256(payload).hexdigest()
