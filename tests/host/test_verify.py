"""Tests of the metrics, of verification with the device runtime, and of the accuracy budget gate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from bundle_fixtures import (
    COLOUR_LABELS,
    confused_colour_weight,
    good_colour_weight,
    write_colour_classifier,
    write_tinted_photos,
)

from frugalclip_device.contract import PreprocessContract
from frugalclip_host.metrics import agreement, classification_metrics, confusion_matrix
from frugalclip_host.verify import AccuracyBudgetError, choose_default, verify_variants

# --- metrics -----------------------------------------------------------------------------


def test_confusion_matrix_counts() -> None:
    matrix = confusion_matrix(np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 0]), 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]


def test_confusion_matrix_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match="0..1"):
        confusion_matrix(np.array([0, 2]), np.array([0, 1]), 2)


def test_metrics_accuracy_and_recall() -> None:
    metrics = classification_metrics(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2)
    assert metrics.accuracy == pytest.approx(0.75)
    assert metrics.per_class_recall == pytest.approx([0.5, 1.0])
    assert metrics.per_class_precision == pytest.approx([1.0, 2 / 3])


def test_metrics_macro_f1() -> None:
    metrics = classification_metrics(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2)
    f1_class0 = 2 * 1.0 * 0.5 / 1.5
    f1_class1 = 2 * (2 / 3) * 1.0 / (5 / 3)
    assert metrics.macro_f1 == pytest.approx((f1_class0 + f1_class1) / 2)


def test_metrics_absent_class_scores_zero() -> None:
    metrics = classification_metrics(np.array([0, 0]), np.array([0, 0]), 2)
    assert metrics.per_class_recall == [1.0, 0.0]
    assert metrics.macro_f1 == pytest.approx(0.5)


def test_metrics_reject_empty() -> None:
    with pytest.raises(ValueError, match="zero samples"):
        classification_metrics(np.array([], dtype=int), np.array([], dtype=int), 2)


def test_agreement_fraction() -> None:
    assert agreement(np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2])) == pytest.approx(0.75)


# --- verification on real ONNX Runtime sessions ------------------------------------------


@pytest.fixture(scope="module")
def colour_case(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Tinted photos and two colour graphs: one right on all photos, one that swaps green and blue."""
    root = tmp_path_factory.mktemp("colours")
    return {
        "split": write_tinted_photos(root / "photos"),
        "variants": {
            "fp32": write_colour_classifier(root / "good.onnx", good_colour_weight()),
            "int8-dynamic-pi5": write_colour_classifier(root / "confused.onnx", confused_colour_weight()),
            "fp16": write_colour_classifier(root / "good-copy.onnx", good_colour_weight()),
        },
    }


@pytest.fixture(scope="module")
def colour_table(colour_case: dict):
    return verify_variants(
        colour_case["variants"], colour_case["split"], COLOUR_LABELS, PreprocessContract(), batch_size=4, threads=1
    )


def test_verify_reference_accuracy(colour_table) -> None:
    assert colour_table.rows["fp32"].metrics.accuracy == pytest.approx(1.0)


def test_verify_confused_accuracy(colour_table) -> None:
    assert colour_table.rows["int8-dynamic-pi5"].metrics.accuracy == pytest.approx(1 / 3)


def test_verify_confused_recall(colour_table) -> None:
    assert colour_table.rows["int8-dynamic-pi5"].metrics.per_class_recall == pytest.approx([1.0, 0.0, 0.0])


def test_verify_confused_agreement(colour_table) -> None:
    assert colour_table.rows["int8-dynamic-pi5"].agreement_with_reference == pytest.approx(1 / 3)


def test_verify_confusion_matrix(colour_table) -> None:
    assert colour_table.rows["int8-dynamic-pi5"].metrics.confusion_matrix == [[3, 0, 0], [0, 0, 3], [0, 3, 0]]


def test_verify_size_bytes(colour_table, colour_case: dict) -> None:
    assert colour_table.rows["fp16"].size_bytes == colour_case["variants"]["fp16"].stat().st_size


def test_verify_test_count(colour_table) -> None:
    assert colour_table.test_count == 9


def test_verify_drop_points(colour_table) -> None:
    assert colour_table.accuracy_drop_points("int8-dynamic-pi5") == pytest.approx(100 * 2 / 3)


def test_verify_markdown_lists_variants(colour_table) -> None:
    markdown = colour_table.render_markdown()
    for name in ("fp32", "fp16", "int8-dynamic-pi5"):
        assert f"| {name} |" in markdown


def test_verify_missing_reference_rejected(colour_case: dict) -> None:
    variants = {"fp16": colour_case["variants"]["fp16"]}
    with pytest.raises(ValueError, match="reference variant 'fp32'"):
        verify_variants(variants, colour_case["split"], COLOUR_LABELS, PreprocessContract())


def test_verify_label_count_mismatch_rejected(colour_case: dict) -> None:
    with pytest.raises(ValueError, match="labels"):
        verify_variants(colour_case["variants"], colour_case["split"], ["red", "green", "blue", "grey"], PreprocessContract())


# --- the accuracy budget gate ------------------------------------------------------------


def test_budget_passes_variant_within(colour_table) -> None:
    choice = choose_default(colour_table, budget_points=1.0)
    assert choice.variant == "fp16"


def test_budget_lists_only_passing_variants(colour_table) -> None:
    assert choose_default(colour_table, budget_points=1.0).within_budget == ["fp16"]


def test_budget_picks_smallest(colour_case: dict, tmp_path: Path) -> None:
    # The same graph padded with an unused initializer: equally accurate, but larger.
    variants = dict(colour_case["variants"])
    variants["int8-dynamic-pi5"] = write_colour_classifier(tmp_path / "good-again.onnx", good_colour_weight())
    model = onnx.load(variants["fp16"])
    model.graph.initializer.append(numpy_helper.from_array(np.zeros(10_000, dtype=np.float32), "padding"))
    onnx.save(model, tmp_path / "padded.onnx")
    variants["fp16"] = tmp_path / "padded.onnx"

    table = verify_variants(variants, colour_case["split"], COLOUR_LABELS, PreprocessContract(), threads=1)
    assert choose_default(table, budget_points=1.0).variant == "int8-dynamic-pi5"


def test_budget_fails_when_all_drop(colour_case: dict) -> None:
    variants = {name: colour_case["variants"][name] for name in ("fp32", "int8-dynamic-pi5")}
    table = verify_variants(variants, colour_case["split"], COLOUR_LABELS, PreprocessContract(), threads=1)
    with pytest.raises(AccuracyBudgetError, match="--budget-points") as caught:
        choose_default(table, budget_points=1.0)
    assert "| int8-dynamic-pi5 |" in caught.value.table_text


def test_budget_force_picks_reference(colour_case: dict) -> None:
    variants = {name: colour_case["variants"][name] for name in ("fp32", "int8-dynamic-pi5")}
    table = verify_variants(variants, colour_case["split"], COLOUR_LABELS, PreprocessContract(), threads=1)
    choice = choose_default(table, budget_points=1.0, force=True)
    assert choice.variant == "fp32"
    assert choice.forced


def test_budget_wide_enough_accepts_drop(colour_case: dict) -> None:
    variants = {name: colour_case["variants"][name] for name in ("fp32", "int8-dynamic-pi5")}
    table = verify_variants(variants, colour_case["split"], COLOUR_LABELS, PreprocessContract(), threads=1)
    assert choose_default(table, budget_points=70.0).variant == "int8-dynamic-pi5"


def test_budget_reference_only(colour_case: dict) -> None:
    variants = {"fp32": colour_case["variants"]["fp32"]}
    table = verify_variants(variants, colour_case["split"], COLOUR_LABELS, PreprocessContract(), threads=1)
    assert choose_default(table).variant == "fp32"


def test_budget_negative_rejected(colour_table) -> None:
    with pytest.raises(ValueError, match="budget_points"):
        choose_default(colour_table, budget_points=-1.0)


# --- every variant type of a tiny exported CLIP classifier -------------------------------


@pytest.fixture(scope="module")
def tiny_variants(tiny_clip_dir: Path, prepared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The tiny random-init CLIP as a classifier, exported to fp32 and quantized to every variant."""
    import json

    import torch
    from transformers import CLIPModel

    from frugalclip_device.preprocess import load_image_rgb, preprocess_image
    from frugalclip_host.classifier import ClipClassifier
    from frugalclip_host.onnx_export import export_onnx
    from frugalclip_host.quantize import VARIANTS, quantize_variant

    labels = json.loads((prepared_dir / "classes.json").read_text())
    clip = CLIPModel.from_pretrained(tiny_clip_dir).eval()
    generator = torch.Generator().manual_seed(0)
    head = torch.nn.functional.normalize(torch.randn(len(labels), clip.config.projection_dim, generator=generator), dim=-1)
    classifier = ClipClassifier.from_clip(clip, labels, head)

    out_dir = tmp_path_factory.mktemp("tiny-variants")
    contract = PreprocessContract()
    paths = {"fp32": export_onnx(classifier, out_dir / "model-fp32.onnx")}
    train_paths = sorted((prepared_dir / "train").rglob("*.png"))
    calibration = [preprocess_image(load_image_rgb(path), contract) for path in train_paths]
    for name, spec in VARIANTS.items():
        paths[name] = quantize_variant(paths["fp32"], out_dir, spec, calibration).path

    test_split = [
        (path, labels.index(path.parent.name)) for path in sorted((prepared_dir / "test").rglob("*.png"))
    ]
    table = verify_variants(paths, test_split, labels, contract, threads=1, weights_note="(tiny random-init model)")
    return {"paths": paths, "table": table, "labels": labels, "test_count": len(test_split)}


@pytest.mark.slow
def test_tiny_every_variant_verified(tiny_variants: dict) -> None:
    assert list(tiny_variants["table"].rows) == list(tiny_variants["paths"])


@pytest.mark.slow
def test_tiny_reference_agrees_with_itself(tiny_variants: dict) -> None:
    assert tiny_variants["table"].rows["fp32"].agreement_with_reference == 1.0


@pytest.mark.slow
def test_tiny_int8_smaller_than_fp32(tiny_variants: dict) -> None:
    rows = tiny_variants["table"].rows
    for name in ("int8-dynamic-pi4", "int8-dynamic-pi5", "int8-dynamic-x86", "int8-static-pi5"):
        assert rows[name].size_bytes < rows["fp32"].size_bytes, name


@pytest.mark.slow
def test_tiny_metrics_are_fractions(tiny_variants: dict) -> None:
    for row in tiny_variants["table"].rows.values():
        assert 0.0 <= row.metrics.accuracy <= 1.0, row.name
        assert 0.0 <= row.agreement_with_reference <= 1.0, row.name


@pytest.mark.slow
def test_tiny_confusion_matrix_counts_split(tiny_variants: dict) -> None:
    for row in tiny_variants["table"].rows.values():
        assert sum(map(sum, row.metrics.confusion_matrix)) == tiny_variants["test_count"], row.name


@pytest.mark.slow
def test_tiny_recall_per_label(tiny_variants: dict) -> None:
    for row in tiny_variants["table"].rows.values():
        assert len(row.metrics.per_class_recall) == len(tiny_variants["labels"]), row.name


@pytest.mark.slow
def test_tiny_accuracy_matches_confusion(tiny_variants: dict) -> None:
    table = tiny_variants["table"]
    for row in table.rows.values():
        matrix = np.array(row.metrics.confusion_matrix)
        assert np.trace(matrix) / matrix.sum() == pytest.approx(row.metrics.accuracy), row.name


@pytest.mark.slow
def test_tiny_table_carries_weights_note(tiny_variants: dict) -> None:
    assert "(tiny random-init model)" in tiny_variants["table"].render_markdown()



def test_budget_size_tie_prefers_target(colour_case: dict, tmp_path: Path) -> None:
    variants = {"fp32": colour_case["variants"]["fp32"]}
    for name in ("int8-dynamic-x86", "int8-dynamic-pi5"):
        variants[name] = write_colour_classifier(tmp_path / f"{name}.onnx", good_colour_weight())
    table = verify_variants(variants, colour_case["split"], COLOUR_LABELS, PreprocessContract(), threads=1)

    assert choose_default(table, budget_points=1.0, target="pi5").variant == "int8-dynamic-pi5"
    assert choose_default(table, budget_points=1.0, target="x86").variant == "int8-dynamic-x86"
