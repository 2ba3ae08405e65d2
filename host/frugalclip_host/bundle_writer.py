"""Write a bundle folder (models/FORMAT.md) and swap it into place atomically.

Everything is written into a staging folder next to the target, on the same filesystem, and
checked with the device's own ``load_bundle``. Only then is the old bundle renamed to a backup,
the staging folder renamed into place and the backup deleted. When any step fails, the staging
folder is removed and the previous bundle is left as it was.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from frugalclip_device.bundle import load_bundle
from frugalclip_device.bundle_format import (
    DATA_REPORT_FILE,
    FORMAT_VERSION,
    LABELS_FILE,
    MANIFEST_FILE,
    MODEL_CARD_FILE,
    sha256_file,
)
from frugalclip_device.contract import PREPROCESS_FILE, PreprocessContract

from .model_card import render_model_card

__all__ = ["BundleVariant", "BundleWriteError", "check_bundle_name", "library_versions", "model_file_name", "write_bundle"]

logger = logging.getLogger(__name__)

# Distributions recorded in the manifest; a missing one is skipped.
_LIBRARIES = (
    "frugalclip-host",
    "frugalclip-device",
    "onnxruntime",
    "onnx",
    "torch",
    "transformers",
    "optimum",
    "numpy",
    "pillow",
)
_STAGING_MARK = ".writing-"
_BACKUP_MARK = ".previous-"
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class BundleWriteError(ValueError):
    """A bundle that cannot be written: bad inputs, or a target folder that is not a bundle."""


@dataclass(frozen=True)
class BundleVariant:
    """One ONNX model to put into a bundle, with its measured metrics and quantization settings."""

    path: Path
    metrics: Mapping[str, Any]
    quantization: Mapping[str, Any] | None = None  # None for fp32
    precision: str | None = None  # derived from the variant name when None


def model_file_name(variant: str) -> str:
    """Return the bundle file name of a variant, e.g. ``model-int8-dynamic-pi5.onnx``."""
    return f"model-{variant}.onnx"


def library_versions() -> dict[str, str]:
    """Return the installed versions of the libraries that shape an export."""
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _precision_of(name: str, variant: BundleVariant) -> str:
    if variant.precision:
        return variant.precision
    if variant.quantization and variant.quantization.get("precision"):
        return str(variant.quantization["precision"])
    for prefix in ("fp32", "fp16", "int8"):
        if name.startswith(prefix):
            return prefix
    raise BundleWriteError(f"cannot tell the precision of variant {name!r}: set BundleVariant.precision")


def check_bundle_name(name: str) -> None:
    """Raise BundleWriteError unless ``name`` is a safe single folder name."""
    if not _NAME_PATTERN.match(name):
        raise BundleWriteError(
            f"invalid bundle name {name!r}: use letters, digits, '.', '_' and '-', starting with a letter or digit"
        )


def _validate(
    name: str, variants: Mapping[str, BundleVariant], default_variant: str, labels: Sequence[str], data_report: Path
) -> None:
    check_bundle_name(name)
    if not labels or len(set(labels)) != len(labels):
        raise BundleWriteError(f"labels must be a non-empty list of distinct class names, got {list(labels)}")
    if default_variant not in variants:
        raise BundleWriteError(f"default variant {default_variant!r} is not among the variants {sorted(variants)}")
    for variant_name, variant in variants.items():
        if not _NAME_PATTERN.match(variant_name):
            raise BundleWriteError(f"invalid variant name {variant_name!r}: use letters, digits, '.', '_' and '-'")
        if not Path(variant.path).is_file():
            raise BundleWriteError(f"model file {variant.path} of variant {variant_name!r} not found")
    if not Path(data_report).is_file():
        raise BundleWriteError(f"data report {data_report} not found: run the prepare step first")


def _recover_interrupted_writes(target: Path) -> None:
    """Remove staging folders of killed runs, and restore a backup that a killed run left instead of the target.

    NOTE: this assumes one writer per bundle name at a time; a concurrent export of the same
    name would lose its staging folder here.
    """
    parent = target.parent
    for staging in parent.glob(f".{target.name}{_STAGING_MARK}*"):
        logger.warning("removing %s, left by an interrupted export", staging)
        shutil.rmtree(staging, ignore_errors=True)

    backups = sorted(parent.glob(f".{target.name}{_BACKUP_MARK}*"), key=lambda path: path.stat().st_mtime)
    if backups and not target.exists():
        logger.warning("restoring %s from %s, left by an interrupted export", target, backups[-1])
        os.rename(backups.pop(), target)
    for backup in backups:
        logger.warning("removing %s, left by an interrupted export", backup)
        shutil.rmtree(backup, ignore_errors=True)


def _check_replaceable(target: Path) -> None:
    """Refuse to replace a folder that is not a bundle, so a wrong --name cannot delete user files."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise BundleWriteError(f"{target} exists and is not a folder: choose another bundle name or remove it")
    if target.is_dir() and any(target.iterdir()) and not (target / MANIFEST_FILE).is_file():
        raise BundleWriteError(
            f"{target} exists and is not a frugalclip bundle (no {MANIFEST_FILE}): "
            "choose another bundle name or output folder, or remove it"
        )


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def _fill_staging(
    staging: Path,
    *,
    name: str,
    variants: Mapping[str, BundleVariant],
    default_variant: str,
    labels: Sequence[str],
    contract: PreprocessContract,
    source_model: Mapping[str, Any],
    training: Mapping[str, Any],
    data_report_path: Path,
    data_summary: Mapping[str, Any] | None,
    default_reason: str | None,
) -> None:
    """Write every bundle file into ``staging``, manifest.json last."""
    variant_entries = {}
    for variant_name, variant in variants.items():
        file_name = model_file_name(variant_name)
        logger.info("copying %s into the bundle as %s", variant.path, file_name)
        shutil.copyfile(variant.path, staging / file_name)
        variant_entries[variant_name] = {
            "file": file_name,
            "precision": _precision_of(variant_name, variant),
            "quantization": dict(variant.quantization) if variant.quantization is not None else None,
            "size_bytes": (staging / file_name).stat().st_size,
            "metrics": dict(variant.metrics),
        }

    _write_json(staging / LABELS_FILE, list(labels))
    contract.save(staging / PREPROCESS_FILE)
    shutil.copyfile(data_report_path, staging / DATA_REPORT_FILE)

    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "default_variant": default_variant,
        "labels": list(labels),
        "source_model": dict(source_model),
        "training": dict(training),
        "data": dict(data_summary or {}),
        "data_report_sha256": sha256_file(staging / DATA_REPORT_FILE),
        "variants": variant_entries,
    }
    (staging / MODEL_CARD_FILE).write_text(
        render_model_card(manifest, default_reason=default_reason), encoding="utf-8"
    )

    files = sorted(path.name for path in staging.iterdir() if path.name != MANIFEST_FILE)
    manifest["files"] = {file_name: sha256_file(staging / file_name) for file_name in files}
    manifest["libraries"] = library_versions()
    _write_json(staging / MANIFEST_FILE, manifest)


def _swap_into_place(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging``; on failure the old target is renamed back."""
    backup = None
    if target.exists():
        backup = target.parent / f".{target.name}{_BACKUP_MARK}{uuid.uuid4().hex[:8]}"
        os.rename(target, backup)
    try:
        os.rename(staging, target)
    except BaseException:
        if backup is not None:
            os.rename(backup, target)
        raise
    if backup is not None:
        shutil.rmtree(backup)


def write_bundle(
    bundle_dir: Path,
    *,
    name: str | None = None,
    variants: Mapping[str, BundleVariant],
    default_variant: str,
    labels: Sequence[str],
    contract: PreprocessContract,
    source_model: Mapping[str, Any],
    training: Mapping[str, Any],
    data_report_path: Path,
    data_summary: Mapping[str, Any] | None = None,
    include_all_variants: bool = True,
    default_reason: str | None = None,
) -> Path:
    """Write a complete, checksummed bundle into ``bundle_dir`` and return its path.

    ``name`` defaults to the folder name. ``source_model`` has ``id``, ``revision`` and
    ``weights``. ``training`` has at least ``method`` and ``epochs``, and may have
    ``energy_kwh`` and ``co2_kg``. ``data_summary`` (source folder, split sizes) goes into the
    manifest's ``data`` entry and the model card. Without ``include_all_variants`` only the
    default variant is written. An existing bundle at ``bundle_dir`` is replaced only once the
    new one is complete and loads with ``frugalclip_device.bundle.load_bundle``.
    """
    target = Path(bundle_dir).absolute()
    name = name or target.name
    data_report_path = Path(data_report_path)
    _validate(name, variants, default_variant, labels, data_report_path)
    if not include_all_variants:
        variants = {default_variant: variants[default_variant]}

    target.parent.mkdir(parents=True, exist_ok=True)
    _recover_interrupted_writes(target)
    _check_replaceable(target)

    # Not tempfile.mkdtemp: its 0700 mode would stay on the published bundle.
    staging = target.parent / f".{target.name}{_STAGING_MARK}{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        _fill_staging(
            staging,
            name=name,
            variants=variants,
            default_variant=default_variant,
            labels=labels,
            contract=contract,
            source_model=source_model,
            training=training,
            data_report_path=data_report_path,
            data_summary=data_summary,
            default_reason=default_reason,
        )
        load_bundle(staging)
        _swap_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

    logger.info("wrote bundle %s: variants %s, default %s", target, sorted(variants), default_variant)
    return target
