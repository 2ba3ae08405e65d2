"""Write the x86 side of the cross-ISA parity check: a small bundle, photos and x86 probabilities.

Run on the x86_64 host. The output folder is handed into the aarch64 rootfs, where
tests/device/test_cross_isa_parity.py runs the same bundle on the same photos and compares.

Output layout (``OUT_DIR``):

- ``bundle/``: a format-1 bundle of the host's tiny random-init CLIP with a fitted head, in
  fp32 and the variants that ``frugalclip quantize`` writes by default (fp16, int8 for Pi 4 and Pi 5)
- ``images/``: the JPEG photos, copied from the data folder or written from scikit-image
- ``x86_inputs.npz``: ``images``, the uint8 [N, S, S, 3] tensors preprocessed on x86
- ``x86_probs.npz``: one float32 [N, classes] array per variant, computed from ``images``
- ``fixture.json``: image order, class of each image, variants, and the x86 platform

The classifier head is fitted on these same photos so that most predictions have a clear
margin. Its outputs say nothing about accuracy: the fixture only compares two ISAs.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime
import PIL
import torch
from PIL import Image
from transformers import CLIPModel

from frugalclip_device.bundle import load_bundle
from frugalclip_device.contract import PreprocessContract
from frugalclip_device.preprocess import load_image_rgb, preprocess_image
from frugalclip_device.session import Classifier
from frugalclip_host.bundle_writer import BundleVariant, write_bundle
from frugalclip_host.classifier import ClipClassifier
from frugalclip_host.onnx_export import export_onnx, normalise_images_numpy
from frugalclip_host.quantize.runner import quantize_variant
from frugalclip_host.quantize.variants import DEFAULT_VARIANTS, parse_variants
from frugalclip_host.tiny_clip import build_tiny_clip
from frugalclip_host.weights_kind import WeightsKind

logger = logging.getLogger("make_parity_fixture")

FIXTURE_FILE = "fixture.json"
INPUTS_FILE = "x86_inputs.npz"
PROBS_FILE = "x86_probs.npz"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")

DEFAULT_VARIANT = "int8-dynamic-pi5"
HEAD_FIT_STEPS = 300


def _pick_trashnet_photos(data_dir: Path, per_class: int, seed: int, images_dir: Path) -> tuple[list[str], list[str]]:
    """Copy ``per_class`` photos of each class folder; return (image file names, class names)."""
    rng = np.random.default_rng(seed)
    classes = sorted(path.name for path in data_dir.iterdir() if path.is_dir())
    if not classes:
        raise ValueError(f"no class folders in {data_dir}; pass a folder with one sub-folder of photos per class")

    names, image_classes = [], []
    for class_name in classes:
        photos = sorted(p for p in (data_dir / class_name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if len(photos) < per_class:
            raise ValueError(f"{data_dir / class_name} has {len(photos)} photos, fewer than --images-per-class {per_class}")
        for index in sorted(rng.choice(len(photos), size=per_class, replace=False)):
            name = f"{class_name}-{photos[index].name}"
            shutil.copyfile(photos[index], images_dir / name)
            names.append(name)
            image_classes.append(class_name)
    return names, image_classes


def _write_skimage_photos(per_class: int, seed: int, images_dir: Path) -> tuple[list[str], list[str]]:
    """Write random crops, every second one mirrored, of scikit-image's bundled colour photos as JPEG files."""
    from skimage import data

    rng = np.random.default_rng(seed)
    sources = {"astronaut": data.astronaut(), "cat": data.chelsea(), "coffee": data.coffee(), "rocket": data.rocket()}
    names, image_classes = [], []
    for class_name, pixels in sources.items():
        photo = Image.fromarray(pixels)
        for index in range(per_class):
            box_width = int(photo.width * rng.uniform(0.5, 1.0))
            box_height = int(photo.height * rng.uniform(0.5, 1.0))
            left = int(rng.integers(0, photo.width - box_width + 1))
            top = int(rng.integers(0, photo.height - box_height + 1))
            crop = photo.crop((left, top, left + box_width, top + box_height))
            if index % 2:
                crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            name = f"{class_name}-{index:02d}.jpg"
            crop.save(images_dir / name, quality=90)
            names.append(name)
            image_classes.append(class_name)
    return names, image_classes


def _fit_head(classifier: ClipClassifier, inputs: np.ndarray, targets: torch.Tensor, seed: int) -> None:
    """Fit the classifier's head weight on the images' embeddings by logistic regression; the bias stays 0."""
    with torch.no_grad():
        embeddings = classifier.image_embeddings(torch.from_numpy(normalise_images_numpy(inputs)))
    torch.manual_seed(seed)
    weight = torch.nn.Parameter(torch.randn(classifier.num_classes, classifier.projection_dim) * 0.01)
    optimizer = torch.optim.Adam([weight], lr=0.05)
    for _ in range(HEAD_FIT_STEPS):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(classifier.logit_scale * embeddings @ weight.T, targets)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        classifier.head.weight.copy_(weight)
    logger.info("head fitted on %d images: final training loss %.4f", len(targets), loss.item())


def _export_bundle(classifier: ClipClassifier, contract: PreprocessContract, source: str, image_count: int, bundle_dir: Path) -> None:
    """Export fp32, quantize the default variants with the host's presets, and write the bundle."""
    with tempfile.TemporaryDirectory(prefix="frugalclip-parity-models-") as scratch:
        scratch_dir = Path(scratch)
        fp32_path = export_onnx(classifier, scratch_dir / "model-fp32.onnx")
        variants = {"fp32": BundleVariant(path=fp32_path, metrics={})}
        for spec in parse_variants(",".join(DEFAULT_VARIANTS)):
            quantized = quantize_variant(fp32_path, scratch_dir, spec)
            variants[spec.name] = BundleVariant(path=quantized.path, metrics={}, quantization=quantized.settings)

        report_path = scratch_dir / "data_report.json"
        report = {"purpose": "cross-ISA parity fixture; predictions are not a measure of accuracy", "source": source, "images": image_count}
        report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        write_bundle(
            bundle_dir,
            name="arm64-parity-fixture",
            variants=variants,
            default_variant=DEFAULT_VARIANT,
            labels=classifier.labels,
            contract=contract,
            source_model={"id": "frugalclip_host.tiny_clip", "revision": None, "weights": WeightsKind.TINY_RANDOM_INIT.value},
            training={"method": "linear-probe on the parity photos", "epochs": HEAD_FIT_STEPS},
            data_report_path=report_path,
        )


def _x86_platform() -> dict:
    flags: list[str] = []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = line.split(":", 1)[1].split()
                break
    except OSError:
        pass
    int8_flags = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")
    return {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "cpu_int8_flags": [flag for flag in int8_flags if flag in flags],
    }


def make_fixture(out_dir: Path, data_dir: Path | None, per_class: int, seed: int) -> dict:
    """Build the whole fixture in ``out_dir`` (replacing what is there) and return fixture.json's content."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    images_dir = out_dir / "images"
    bundle_dir = out_dir / "bundle"
    images_dir.mkdir(parents=True)

    if data_dir is not None:
        names, image_classes = _pick_trashnet_photos(data_dir, per_class, seed, images_dir)
        source = f"photos from {data_dir.name}"
    else:
        names, image_classes = _write_skimage_photos(per_class, seed, images_dir)
        source = "scikit-image bundled photos (astronaut, chelsea, coffee, rocket)"
    labels = sorted(set(image_classes))
    logger.info("%d photos of %d classes in %s (%s)", len(names), len(labels), images_dir, source)

    contract = PreprocessContract()
    inputs = np.stack([preprocess_image(load_image_rgb(images_dir / name), contract) for name in names])

    with tempfile.TemporaryDirectory(prefix="frugalclip-parity-clip-") as scratch:
        clip_model = CLIPModel.from_pretrained(build_tiny_clip(Path(scratch), image_size=contract.image_size, seed=seed))
    classifier = ClipClassifier.from_clip(
        clip_model,
        labels,
        torch.zeros(len(labels), clip_model.visual_projection.out_features),
        source_id="frugalclip_host.tiny_clip",
        weights=WeightsKind.TINY_RANDOM_INIT,
    ).eval()
    targets = torch.tensor([labels.index(name) for name in image_classes])
    _fit_head(classifier, inputs, targets, seed)
    _export_bundle(classifier, contract, source, len(names), bundle_dir)

    bundle = load_bundle(bundle_dir)
    probabilities = {
        name: Classifier.from_bundle(bundle, name, threads=1).predict(inputs) for name in bundle.variants
    }
    np.savez_compressed(out_dir / INPUTS_FILE, images=inputs)
    np.savez_compressed(out_dir / PROBS_FILE, **probabilities)

    fixture = {
        "images": names,
        "classes": image_classes,
        "labels": labels,
        "variants": sorted(bundle.variants),
        "image_source": source,
        "model_source": "frugalclip_host tiny CLIP, onnx_export and quantize presets",
        "preprocess": "frugalclip_device.preprocess.preprocess_image",
        "x86": _x86_platform(),
    }
    (out_dir / FIXTURE_FILE).write_text(json.dumps(fixture, indent=2) + "\n", encoding="utf-8")
    logger.info("parity fixture written to %s: variants %s", out_dir, fixture["variants"])
    return fixture


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to (re)create; handed into the aarch64 rootfs")
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="folder with one sub-folder of photos per class (TrashNet); default: scikit-image's bundled photos",
    )
    parser.add_argument("--images-per-class", type=int, default=5, help="photos per class (default: 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the photo choice, the CLIP weights and the head (default: 0)")
    args = parser.parse_args(argv)
    # onnxruntime.quantization logs every tensor at INFO on the root logger, so only ours is verbose.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)

    if args.data is not None and not args.data.is_dir():
        logger.error("data folder %s not found; pass a folder of class sub-folders, or omit --data", args.data)
        return 2
    if args.images_per_class < 1:
        logger.error("--images-per-class must be at least 1, got %d", args.images_per_class)
        return 2
    try:
        make_fixture(args.out_dir, args.data, args.images_per_class, args.seed)
    except ValueError as error:
        logger.error("%s", error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
