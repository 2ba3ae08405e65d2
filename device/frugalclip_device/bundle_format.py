"""File names and version of a frugalclip bundle, shared by the writer (host) and the reader (device).

The full format is documented in models/FORMAT.md.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["FORMAT_VERSION", "LABELS_FILE", "MANIFEST_FILE", "MODEL_CARD_FILE", "sha256_file"]

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
LABELS_FILE = "labels.json"
MODEL_CARD_FILE = "MODEL_CARD.md"
DATA_REPORT_FILE = "data_report.json"


def sha256_file(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file, read in chunks so large models fit in little memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()
