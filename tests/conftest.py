"""Fixtures shared by the host and device test suites."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# TrashNet photos live beside the checkout (../shared/data/trashnet), never inside it.
TRASHNET_DIR = Path(os.environ.get("FRUGALCLIP_TRASHNET", REPO_ROOT.parent / "shared" / "data" / "trashnet"))


@pytest.fixture(scope="session")
def trashnet_dir() -> Path:
    """Folder of the TrashNet photos; the test is skipped when it is absent."""
    if not (TRASHNET_DIR / "glass").is_dir():
        pytest.skip(f"TrashNet photos not found at {TRASHNET_DIR}; set FRUGALCLIP_TRASHNET to their folder")
    return TRASHNET_DIR
