"""Verify every ONNX variant on the held-out test split with the device runtime, and choose the default.

Each variant runs through ``frugalclip_device.session.Classifier``, the code the Raspberry Pi
runs, on images preprocessed once by ``frugalclip_device.preprocess``. Latency is measured on
this workstation during verification, so it ranks the variants on this CPU, not on a Pi.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.table import Table
from tqdm import tqdm

from frugalclip_device.contract import PreprocessContract
from frugalclip_device.preprocess import load_image_rgb, preprocess_image
from frugalclip_device.session import Classifier

from .metrics import ClassificationMetrics, agreement, classification_metrics

__all__ = [
    "AccuracyBudgetError",
    "DefaultChoice",
    "VariantVerification",
    "VerificationTable",
    "choose_default",
    "preprocess_split",
    "verify_variants",
]

logger = logging.getLogger(__name__)

REFERENCE_VARIANT = "fp32"


class AccuracyBudgetError(Exception):
    """No quantized variant keeps its accuracy within the budget; ``table_text`` is the rendered table."""

    def __init__(self, message: str, table_text: str) -> None:
        super().__init__(message)
        self.table_text = table_text


@dataclass(frozen=True)
class VariantVerification:
    """Measurements of one variant on the test split."""

    name: str
    path: Path
    size_bytes: int
    metrics: ClassificationMetrics
    agreement_with_reference: float
    latency_ms_per_image: float  # mean over the split on this workstation, batched: indicative only
    predictions: np.ndarray = field(compare=False, repr=False)

    def manifest_metrics(self, reference: str) -> dict[str, object]:
        """Return the metrics as written into the bundle manifest (fractions in 0..1)."""
        return {
            "accuracy": self.metrics.accuracy,
            "macro_f1": self.metrics.macro_f1,
            f"agreement_with_{reference}": self.agreement_with_reference,
            "per_class_recall": self.metrics.per_class_recall,
            "confusion_matrix": self.metrics.confusion_matrix,
            "host_latency_ms_per_image": self.latency_ms_per_image,
        }


@dataclass(frozen=True)
class VerificationTable:
    """Verification results of all variants, in the order they were given."""

    labels: list[str]
    reference: str
    test_count: int
    rows: dict[str, VariantVerification]
    # Printed under every rendering when the weights are not a pretrained CLIP.
    weights_note: str | None = None

    def accuracy_drop_points(self, name: str) -> float:
        """Return the accuracy lost by ``name`` against the reference, in percentage points."""
        return 100.0 * (self.rows[self.reference].metrics.accuracy - self.rows[name].metrics.accuracy)

    def _cells(self, row: VariantVerification) -> list[str]:
        drop = "ref" if row.name == self.reference else f"{self.accuracy_drop_points(row.name):+.1f}"
        return [
            row.name,
            f"{row.size_bytes / 1e6:.2f}",
            f"{100 * row.metrics.accuracy:.1f}",
            drop,
            f"{100 * row.metrics.macro_f1:.1f}",
            f"{100 * row.agreement_with_reference:.1f}",
            f"{row.latency_ms_per_image:.2f}",
        ]

    def _headers(self) -> list[str]:
        return ["variant", "size MB", "accuracy %", "drop pts", "F1 %", "agree %", "ms/img"]

    def _footer(self) -> str:
        lines = [
            f"{self.test_count} test images. drop pts: accuracy points lost against {self.reference} "
            f"(positive is worse). F1: macro-F1. agree: top-1 agreement with {self.reference}. "
            "ms/img: latency per image on this workstation, batched, indicative only."
        ]
        if self.weights_note:
            lines.append(self.weights_note)
        return "\n".join(lines)

    def render_markdown(self) -> str:
        """Render the table as Markdown, with the footnotes below it."""
        headers = self._headers()
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        for row in self.rows.values():
            lines.append("| " + " | ".join(self._cells(row)) + " |")
        return "\n".join(lines) + "\n\n" + self._footer() + "\n"

    def to_rich(self, default_variant: str | None = None) -> Table:
        """Build a rich table; the default variant's row is highlighted."""
        table = Table(title="Verification on the test split", caption=self._footer())
        for index, header in enumerate(self._headers()):
            if index == 0:
                table.add_column(header, justify="left", no_wrap=True)  # variant names must stay whole
            else:
                table.add_column(header, justify="right")
        for row in self.rows.values():
            style = "bold green" if row.name == default_variant else None
            table.add_row(*self._cells(row), style=style)
        return table

    def per_class_recall_markdown(self) -> str:
        """Render per-class recall (%) of every variant as a Markdown table, one row per class."""
        names = list(self.rows)
        lines = ["| class | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
        for index, label in enumerate(self.labels):
            cells = [f"{100 * self.rows[name].metrics.per_class_recall[index]:.1f}" for name in names]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class DefaultChoice:
    """The variant chosen as a bundle's default, and why."""

    variant: str
    reason: str
    within_budget: list[str]
    forced: bool = False


def preprocess_split(
    test_split: Sequence[tuple[Path, int]], contract: PreprocessContract, *, description: str = "preprocess"
) -> tuple[np.ndarray, np.ndarray]:
    """Decode and preprocess every image once; return uint8 images [N, S, S, 3] and int64 class indices [N]."""
    if not test_split:
        raise ValueError("the test split is empty: verification needs at least one labelled image")
    size = contract.image_size
    images = np.empty((len(test_split), size, size, 3), dtype=np.uint8)
    for index, (path, _) in enumerate(tqdm(test_split, desc=description, unit="img", leave=False)):
        images[index] = preprocess_image(load_image_rgb(path), contract)
    classes = np.array([class_index for _, class_index in test_split], dtype=np.int64)
    return images, classes


def _predict_all(classifier: Classifier, images: np.ndarray, batch_size: int, name: str) -> tuple[np.ndarray, float]:
    """Return the top-1 predictions over all images and the mean latency per image in ms."""
    # One warm-up run so that session initialisation is not billed to the first batch.
    classifier.predict(images[:1])

    predictions = np.empty(len(images), dtype=np.int64)
    elapsed_s = 0.0
    starts = range(0, len(images), batch_size)
    for start in tqdm(starts, desc=f"verify {name}", unit="batch", leave=False):
        batch = images[start : start + batch_size]
        began = time.perf_counter()
        probabilities = classifier.predict(batch)
        elapsed_s += time.perf_counter() - began
        predictions[start : start + len(batch)] = np.argmax(probabilities, axis=1)
    return predictions, 1000.0 * elapsed_s / len(images)


def verify_variants(
    variants: Mapping[str, Path],
    test_split: Sequence[tuple[Path, int]],
    labels: Sequence[str],
    contract: PreprocessContract,
    *,
    reference: str = REFERENCE_VARIANT,
    batch_size: int = 32,
    threads: int | None = None,
    weights_note: str | None = None,
) -> VerificationTable:
    """Run every variant on the test split with the device runtime and measure it.

    ``test_split`` lists (image path, class index). ``reference`` must be one of ``variants``.
    Its predictions define the agreement of every other variant. ``threads`` is ONNX Runtime's
    intra-op thread count (default: physical cores).
    """
    if reference not in variants:
        raise ValueError(f"reference variant {reference!r} is missing; variants given: {sorted(variants)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")

    logger.info("verifying %d variants on %d test images", len(variants), len(test_split))
    images, classes = preprocess_split(test_split, contract)
    if classes.max() >= len(labels):
        raise ValueError(f"the test split has class index {classes.max()} but only {len(labels)} labels")

    predictions: dict[str, np.ndarray] = {}
    latencies_ms: dict[str, float] = {}
    # The reference runs first so that agreement can be computed for each variant as it finishes.
    order = [reference] + [name for name in variants if name != reference]
    for name in order:
        classifier = Classifier(Path(variants[name]), contract, threads=threads)
        if classifier.num_classes is not None and classifier.num_classes != len(labels):
            raise ValueError(
                f"variant {name!r} ({variants[name]}) outputs {classifier.num_classes} classes "
                f"but there are {len(labels)} labels"
            )
        predictions[name], latencies_ms[name] = _predict_all(classifier, images, batch_size, name)
        del classifier

    rows = {}
    for name, path in variants.items():
        rows[name] = VariantVerification(
            name=name,
            path=Path(path),
            size_bytes=Path(path).stat().st_size,
            metrics=classification_metrics(classes, predictions[name], len(labels)),
            agreement_with_reference=agreement(predictions[name], predictions[reference]),
            latency_ms_per_image=latencies_ms[name],
            predictions=predictions[name],
        )
        logger.info(
            "variant %s: accuracy %.3f, macro-F1 %.3f, agreement with %s %.3f, %.2f ms/img on this host",
            name,
            rows[name].metrics.accuracy,
            rows[name].metrics.macro_f1,
            reference,
            rows[name].agreement_with_reference,
            latencies_ms[name],
        )
    return VerificationTable(
        labels=list(labels), reference=reference, test_count=len(classes), rows=rows, weights_note=weights_note
    )


def choose_default(
    table: VerificationTable, budget_points: float = 1.0, *, force: bool = False, target: str | None = None
) -> DefaultChoice:
    """Choose the smallest, then fastest, non-reference variant within the accuracy budget.

    Among variants of the same size, one built for ``target`` (a preset name such as ``pi5``,
    matched as the variant name's last part) wins before latency is compared, because the
    host's latency does not predict the latency on the device the bundle is for.

    The budget is the largest accepted accuracy drop against the reference, in percentage
    points. With no other variant than the reference, the reference is the default. When every
    other variant exceeds the budget, raise AccuracyBudgetError. With ``force``, the reference
    becomes the default instead, so that a forced bundle still defaults to the unquantized
    model. The other variants then keep their measured metrics in the manifest.
    """
    if budget_points < 0:
        raise ValueError(f"budget_points must be 0 or more percentage points, got {budget_points}")

    candidates = [row for name, row in table.rows.items() if name != table.reference]
    if not candidates:
        return DefaultChoice(table.reference, f"{table.reference} is the only variant", [table.reference])

    one_image_points = 100.0 / table.test_count
    if budget_points < one_image_points:
        logger.warning(
            "the accuracy budget of %g points is finer than one test image (%.2f points of %d images): "
            "a single changed prediction decides the gate",
            budget_points,
            one_image_points,
            table.test_count,
        )

    # A tiny tolerance so that a drop of exactly the budget, computed in floating point, still passes.
    within = [row for row in candidates if table.accuracy_drop_points(row.name) <= budget_points + 1e-9]
    if within:
        # int8 presets often have identical sizes; the target preset breaks the tie before host latency.
        def for_other_target(name: str) -> bool:
            return target is not None and not name.endswith(f"-{target}")

        best = min(
            within, key=lambda row: (row.size_bytes, for_other_target(row.name), row.latency_ms_per_image, row.name)
        )
        reason = (
            f"the smallest variant within the {budget_points:g}-point accuracy budget, "
            f"with a drop of {table.accuracy_drop_points(best.name):+.1f} points against {table.reference}"
        )
        return DefaultChoice(best.name, reason, [row.name for row in within])

    drops = ", ".join(f"{row.name} {table.accuracy_drop_points(row.name):+.1f}" for row in candidates)
    if force:
        logger.warning(
            "no quantized variant is within the %g-point accuracy budget (%s); --force given, so the default is %s",
            budget_points,
            drops,
            table.reference,
        )
        reason = f"forced, because no quantized variant is within the {budget_points:g}-point budget: {drops} points"
        return DefaultChoice(table.reference, reason, [], forced=True)

    raise AccuracyBudgetError(
        f"no quantized variant is within the accuracy budget of {budget_points:g} points against "
        f"{table.reference} (drops: {drops}). Raise --budget-points, choose other --variants, "
        f"or pass --force to write the bundle with {table.reference} as default",
        table.render_markdown(),
    )
