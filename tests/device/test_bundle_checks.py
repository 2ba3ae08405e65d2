"""Checks that refuse a broken bundle: a file left out of the checksums, a graph that does not match preprocess.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bundle_factory import make_bundle

from frugalclip_device.bundle import BundleError, load_bundle
from frugalclip_device.bundle_format import MANIFEST_FILE
from frugalclip_device.contract import PreprocessContract
from frugalclip_device.session import Classifier


def _drop_from_files(root: Path, name: str) -> None:
    manifest = json.loads((root / MANIFEST_FILE).read_text(encoding="utf-8"))
    del manifest["files"][name]
    (root / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")


def test_unlisted_model_rejected(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "bundle")
    _drop_from_files(root, "model-fp32.onnx")
    with (root / "model-fp32.onnx").open("ab") as handle:
        handle.write(b"corrupted tail")
    with pytest.raises(BundleError, match="no checksum for model-fp32.onnx"):
        load_bundle(root)


def test_unlisted_labels_rejected(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "bundle")
    _drop_from_files(root, "labels.json")
    with pytest.raises(BundleError, match="no checksum for labels.json"):
        load_bundle(root)


def test_unlisted_model_loads_unverified(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "bundle")
    _drop_from_files(root, "model-fp32.onnx")
    assert load_bundle(root, verify_checksums=False).default_variant == "fp32"


def test_image_size_mismatch_rejected(tmp_path: Path) -> None:
    # A 32 px graph with a contract of 48 px: the first frame would fail inside ONNX Runtime.
    root = make_bundle(tmp_path / "bundle", image_size=32)
    contract = PreprocessContract(image_size=48, resize_shortest_edge=48)
    with pytest.raises(BundleError, match="do not belong together"):
        Classifier(root / "model-fp32.onnx", contract)


def test_matching_contract_accepted(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "bundle", image_size=32)
    contract = PreprocessContract(image_size=32, resize_shortest_edge=32)
    assert Classifier(root / "model-fp32.onnx", contract, threads=1).num_classes == 3


def test_variant_outside_folder_rejected(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "bundle")
    manifest = json.loads((root / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["variants"]["fp32"]["file"] = "../elsewhere.onnx"
    (root / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BundleError, match="inside the bundle folder"):
        load_bundle(root, verify_checksums=False)


def test_manifest_not_object_rejected(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "bundle")
    (root / MANIFEST_FILE).write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(BundleError, match="JSON object"):
        load_bundle(root)
