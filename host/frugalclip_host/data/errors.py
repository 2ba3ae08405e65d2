"""The error raised when a source folder or the preparation options cannot produce a dataset."""

from __future__ import annotations

__all__ = ["DataError"]


class DataError(Exception):
    """Invalid input data or options; the message names the folder, class or value and the fix."""
