"""Load a bundle written by ``make export`` and check it before any inference."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bundle_format import FORMAT_VERSION, LABELS_FILE, MANIFEST_FILE, sha256_file
from .contract import PREPROCESS_FILE, PreprocessContract

__all__ = ["Bundle", "BundleError", "Variant", "load_bundle"]

logger = logging.getLogger(__name__)

_REEXPORT_HINT = "copy the whole bundle folder again from the workstation, or re-run `make export`"


class BundleError(Exception):
    """A bundle that is missing, incomplete, corrupted or of an unknown format."""


@dataclass(frozen=True)
class Variant:
    """One ONNX model of a bundle (fp32, fp16, int8 ...)."""

    name: str
    path: Path
    precision: str
    size_bytes: int
    quantization: dict[str, Any] | None
    metrics: dict[str, Any]


@dataclass(frozen=True)
class Bundle:
    """A checked bundle: labels, preprocessing contract and model variants."""

    path: Path
    manifest: dict[str, Any]
    labels: list[str]
    contract: PreprocessContract
    variants: dict[str, Variant]
    default_variant: str

    @property
    def weights(self) -> str:
        """``pretrained``, ``tiny-random-init`` or ``random``; metrics mean nothing unless pretrained."""
        return str(self.manifest.get("source_model", {}).get("weights", "unknown"))

    def variant(self, name: str | None = None) -> Variant:
        """Return the named variant, or the bundle's default one."""
        key = name or self.default_variant
        if key not in self.variants:
            raise BundleError(
                f"{self.path}: no variant {key!r}; this bundle has {sorted(self.variants)}"
            )
        return self.variants[key]


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise BundleError(f"missing file {path}: {_REEXPORT_HINT}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise BundleError(f"cannot parse {path}: {error}; {_REEXPORT_HINT}") from error


def _verify_checksums(root: Path, files: dict[str, str]) -> None:
    for name, expected in sorted(files.items()):
        path = root / name
        if not path.is_file():
            raise BundleError(f"missing file {path} listed in {MANIFEST_FILE}: {_REEXPORT_HINT}")
        actual = sha256_file(path)
        if actual != expected:
            raise BundleError(
                f"checksum mismatch for {path}: manifest has {expected[:12]}…, file has {actual[:12]}…; "
                f"the file is corrupted or was changed after export: {_REEXPORT_HINT}"
            )


def _load_labels(root: Path) -> list[str]:
    labels = _read_json(root / LABELS_FILE)
    if not isinstance(labels, list) or not labels or not all(isinstance(label, str) for label in labels):
        raise BundleError(f"{root / LABELS_FILE} must be a non-empty JSON list of class names; {_REEXPORT_HINT}")
    return labels


def _load_variants(root: Path, manifest: dict[str, Any]) -> dict[str, Variant]:
    raw = manifest.get("variants")
    if not isinstance(raw, dict) or not raw:
        raise BundleError(f"{root / MANIFEST_FILE} lists no model variants; {_REEXPORT_HINT}")
    variants = {}
    for name, entry in raw.items():
        file_name = entry.get("file") if isinstance(entry, dict) else None
        if not isinstance(file_name, str) or Path(file_name).name != file_name:
            raise BundleError(
                f"{root / MANIFEST_FILE}: variant {name!r} must name a model file inside the bundle folder, "
                f"got {file_name!r}; {_REEXPORT_HINT}"
            )
        path = root / file_name
        if not path.is_file():
            raise BundleError(f"missing model file {path} for variant {name!r}: {_REEXPORT_HINT}")
        variants[name] = Variant(
            name=name,
            path=path,
            precision=str(entry.get("precision", "unknown")),
            size_bytes=path.stat().st_size,
            quantization=entry.get("quantization"),
            metrics=dict(entry.get("metrics") or {}),
        )
    return variants


def load_bundle(path: Path, *, verify_checksums: bool = True) -> Bundle:
    """Read and check a bundle folder, raising BundleError that names the file and the fix."""
    root = Path(path)
    if not root.is_dir():
        raise BundleError(f"bundle folder {root} not found: pass the folder that `make export` wrote under models/")

    manifest = _read_json(root / MANIFEST_FILE)
    if not isinstance(manifest, dict):
        raise BundleError(f"{root / MANIFEST_FILE} must contain a JSON object; {_REEXPORT_HINT}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(
            f"{root / MANIFEST_FILE} has format_version {version!r}, but this runtime reads version {FORMAT_VERSION}; "
            "re-export the bundle, or install the frugalclip-device release that matches it"
        )

    if verify_checksums:
        _verify_checksums(root, dict(manifest.get("files") or {}))

    labels = _load_labels(root)
    try:
        contract = PreprocessContract.load(root / PREPROCESS_FILE)
    except ValueError as error:
        raise BundleError(f"{error}; {_REEXPORT_HINT}") from error

    variants = _load_variants(root, manifest)
    if verify_checksums:
        # A file missing from `files` would skip its checksum, so a corrupted model would load.
        listed = dict(manifest.get("files") or {})
        needed = [LABELS_FILE, PREPROCESS_FILE] + [str(entry["file"]) for entry in manifest["variants"].values()]
        unlisted = [name for name in needed if name not in listed]
        if unlisted:
            raise BundleError(
                f"{root / MANIFEST_FILE} has no checksum for {', '.join(unlisted)} under \"files\"; {_REEXPORT_HINT}"
            )
    default = manifest.get("default_variant") or next(iter(variants))
    if default not in variants:
        raise BundleError(
            f"{root / MANIFEST_FILE}: default_variant {default!r} is not among the variants {sorted(variants)}"
        )

    logger.info("loaded bundle %s: %d labels, variants %s, default %s", root, len(labels), sorted(variants), default)
    return Bundle(root, manifest, labels, contract, variants, default)
