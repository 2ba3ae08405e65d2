"""Cross-ISA parity: the x86_64 fixture's bundle, rerun here, must give the same predictions.

scripts/arm64/make_parity_fixture.py writes the fixture on x86_64; scripts/arm64/test.sh
runs this module inside an aarch64 rootfs under QEMU with FRUGALCLIP_PARITY_DIR set to it.
Without that variable every test here is skipped. Two comparisons are made per variant:

- same input: the x86-preprocessed tensors, so only ONNX Runtime's kernels differ;
- end to end: the JPEG files decoded and resized here, so Pillow and libjpeg differ too.

The figures are written to ``<parity dir>/results/parity-<label>.json`` before any assert.
Tolerances were chosen from measurements that scripts/arm64/README.md records.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import PIL
import pytest

from frugalclip_device.bundle import Bundle, load_bundle
from frugalclip_device.preprocess import load_image_rgb, preprocess_image
from frugalclip_device.session import Classifier

PARITY_DIR_ENV = "FRUGALCLIP_PARITY_DIR"
LABEL_ENV = "FRUGALCLIP_PARITY_LABEL"

# At most this fraction of images may change their top-1 class between the two ISAs.
MAX_TOP1_DISAGREEMENT = 0.01
# Largest accepted absolute difference of any probability, by variant precision, chosen from
# the measured maxima that scripts/arm64/README.md lists (fp32 6e-6, fp16 0.034, int8 0.148).
# fp16 differs most on Cortex-A76, the only one of the three CPUs with half-precision
# arithmetic; that ONNX Runtime uses it there is inferred, not traced. In int8, a one-ulp float difference before DynamicQuantizeLinear can move an activation by one
# quantization step, and the tiny random tower amplifies that.
PROBABILITY_TOLERANCE = {"fp32": 1e-4, "fp16": 0.1, "int8-dynamic": 0.25, "int8-static": 0.25}
# Largest accepted difference of any preprocessed pixel value, in uint8 levels; measured: 0.
PIXEL_TOLERANCE = 1


def _parity_dir() -> Path | None:
    value = os.environ.get(PARITY_DIR_ENV)
    return Path(value) if value else None


def _fixture_variants() -> list[str]:
    root = _parity_dir()
    if root is None or not (root / "fixture.json").is_file():
        return []
    return json.loads((root / "fixture.json").read_text(encoding="utf-8"))["variants"]


pytestmark = pytest.mark.skipif(
    _parity_dir() is None,
    reason=f"{PARITY_DIR_ENV} is not set; scripts/arm64/test.sh sets it inside the aarch64 rootfs",
)


def _compare(reference: np.ndarray, actual: np.ndarray, names: list[str]) -> dict[str, Any]:
    reference_top1 = reference.argmax(axis=1)
    actual_top1 = actual.argmax(axis=1)
    disagreeing = [names[i] for i in np.flatnonzero(reference_top1 != actual_top1)]
    per_image_diff = np.abs(reference - actual).max(axis=1)
    return {
        "max_abs_probability_diff": float(per_image_diff.max()),
        "median_abs_probability_diff": float(np.median(per_image_diff)),
        "images_over_1e-4": int((per_image_diff > 1e-4).sum()),
        "top1_agreement": float((reference_top1 == actual_top1).mean()),
        "top1_disagreeing_images": disagreeing,
    }


def _min_top1_margin(probabilities: np.ndarray) -> float:
    ordered = np.sort(probabilities, axis=1)
    return float((ordered[:, -1] - ordered[:, -2]).min())


def _platform(fixture: dict[str, Any]) -> dict[str, Any]:
    return {
        "label": os.environ.get(LABEL_ENV, platform.machine()),
        "machine": platform.machine(),
        "qemu_cpu": os.environ.get("QEMU_CPU"),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "x86_reference": fixture["x86"],
    }


@pytest.fixture(scope="module")
def parity_dir() -> Path:
    root = _parity_dir()
    if not (root / "fixture.json").is_file():
        pytest.fail(f"{root / 'fixture.json'} not found; run scripts/arm64/make_parity_fixture.py {root} first")
    return root


@pytest.fixture(scope="module")
def bundle(parity_dir: Path) -> Bundle:
    return load_bundle(parity_dir / "bundle")


@pytest.fixture(scope="module")
def report(parity_dir: Path, bundle: Bundle) -> dict[str, Any]:
    """Run every variant on both inputs, write the JSON report, and return it."""
    fixture = json.loads((parity_dir / "fixture.json").read_text(encoding="utf-8"))
    names = fixture["images"]
    x86_inputs = np.load(parity_dir / "x86_inputs.npz")["images"]
    x86_probabilities = np.load(parity_dir / "x86_probs.npz")
    local_inputs = np.stack(
        [preprocess_image(load_image_rgb(parity_dir / "images" / name), bundle.contract) for name in names]
    )

    pixel_diff = np.abs(local_inputs.astype(np.int16) - x86_inputs.astype(np.int16))
    result: dict[str, Any] = {
        "platform": _platform(fixture),
        "images": len(names),
        "image_source": fixture["image_source"],
        "model_weights": bundle.weights,
        "preprocess": {
            "max_abs_pixel_diff": int(pixel_diff.max()),
            "differing_pixel_fraction": float((pixel_diff > 0).mean()),
        },
        "variants": {},
    }
    for name in fixture["variants"]:
        classifier = Classifier.from_bundle(bundle, name, threads=1)
        reference = x86_probabilities[name]
        precision = bundle.variant(name).precision
        if precision not in PROBABILITY_TOLERANCE:
            pytest.fail(f"variant {name} has precision {precision!r} with no tolerance; add it to PROBABILITY_TOLERANCE")
        result["variants"][name] = {
            "precision": precision,
            "probability_tolerance": PROBABILITY_TOLERANCE[precision],
            "min_top1_margin_x86": _min_top1_margin(reference),
            "same_input": _compare(reference, classifier.predict(x86_inputs), names),
            "end_to_end": _compare(reference, classifier.predict(local_inputs), names),
        }

    results_dir = parity_dir / "results"
    results_dir.mkdir(exist_ok=True)
    path = results_dir / f"parity-{result['platform']['label']}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def test_preprocess_pixels_within_tolerance(report: dict[str, Any]) -> None:
    assert report["preprocess"]["max_abs_pixel_diff"] <= PIXEL_TOLERANCE


@pytest.mark.parametrize("variant", _fixture_variants())
def test_same_input_probabilities_close(report: dict[str, Any], variant: str) -> None:
    figures = report["variants"][variant]
    assert figures["same_input"]["max_abs_probability_diff"] <= figures["probability_tolerance"]


@pytest.mark.parametrize("variant", _fixture_variants())
def test_same_input_top1_agrees(report: dict[str, Any], variant: str) -> None:
    assert 1.0 - report["variants"][variant]["same_input"]["top1_agreement"] <= MAX_TOP1_DISAGREEMENT


@pytest.mark.parametrize("variant", _fixture_variants())
def test_end_to_end_top1_agrees(report: dict[str, Any], variant: str) -> None:
    assert 1.0 - report["variants"][variant]["end_to_end"]["top1_agreement"] <= MAX_TOP1_DISAGREEMENT
