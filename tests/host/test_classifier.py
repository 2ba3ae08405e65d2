"""ClipClassifier: built from the tiny CLIP, saved and loaded without the CLIP directory."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from transformers import CLIPModel, CLIPProcessor

from frugalclip_host.classifier import CLASSIFIER_CONFIG_FILE, ClipClassifier, zero_shot_head
from frugalclip_host.weights_kind import WeightsKind

LABELS = ["cardboard", "white_glass", "metal"]


@pytest.fixture(scope="module")
def clip_and_processor(tiny_clip_dir: Path) -> tuple[CLIPModel, CLIPProcessor]:
    return CLIPModel.from_pretrained(tiny_clip_dir).eval(), CLIPProcessor.from_pretrained(tiny_clip_dir)


@pytest.fixture(scope="module")
def classifier(clip_and_processor) -> ClipClassifier:
    model, processor = clip_and_processor
    head = zero_shot_head(model, processor, LABELS)
    return ClipClassifier.from_clip(model, LABELS, head, source_id="tiny", weights=WeightsKind.TINY_RANDOM_INIT)


def _pixels(seed: int = 0) -> torch.Tensor:
    return torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(seed))


def test_zero_shot_head_shape(clip_and_processor) -> None:
    model, processor = clip_and_processor
    head = zero_shot_head(model, processor, LABELS)
    assert tuple(head.shape) == (3, 32)


def test_zero_shot_head_rows_unit_norm(clip_and_processor) -> None:
    model, processor = clip_and_processor
    head = zero_shot_head(model, processor, LABELS, templates=("a photo of a {}.", "a {} on a table."))
    assert torch.allclose(head.norm(dim=1), torch.ones(3), atol=1e-5)


def test_zero_shot_head_rows_differ(clip_and_processor) -> None:
    model, processor = clip_and_processor
    head = zero_shot_head(model, processor, LABELS)
    assert not torch.allclose(head[0], head[1])


def test_zero_shot_head_empty_templates_rejected(clip_and_processor) -> None:
    model, processor = clip_and_processor
    with pytest.raises(ValueError, match="template"):
        zero_shot_head(model, processor, LABELS, templates=())


def test_from_clip_matches_clip_logits(clip_and_processor, classifier: ClipClassifier) -> None:
    model, processor = clip_and_processor
    pixels = _pixels()
    head = zero_shot_head(model, processor, LABELS)
    with torch.no_grad():
        image = F.normalize(model.get_image_features(pixel_values=pixels), dim=-1)
        expected = model.logit_scale.exp() * image @ head.T
        actual = classifier(pixels)
    assert torch.allclose(actual, expected, atol=1e-5)


def test_image_embeddings_unit_norm(classifier: ClipClassifier) -> None:
    with torch.no_grad():
        embeddings = classifier.image_embeddings(_pixels())
    assert torch.allclose(embeddings.norm(dim=1), torch.ones(2), atol=1e-5)


def test_logit_scale_frozen(classifier: ClipClassifier) -> None:
    assert classifier.logit_scale.requires_grad is False


def test_from_clip_wrong_head_shape_rejected(clip_and_processor) -> None:
    model, _ = clip_and_processor
    with pytest.raises(ValueError, match="head_weight"):
        ClipClassifier.from_clip(model, LABELS, torch.zeros(2, 32))


def test_save_load_same_logits(classifier: ClipClassifier, tmp_path: Path) -> None:
    classifier.save(tmp_path)
    loaded = ClipClassifier.load(tmp_path)
    pixels = _pixels(1)
    with torch.no_grad():
        assert torch.equal(loaded(pixels), classifier(pixels))


def test_save_load_keeps_metadata(classifier: ClipClassifier, tmp_path: Path) -> None:
    classifier.save(tmp_path)
    loaded = ClipClassifier.load(tmp_path)
    assert loaded.labels == LABELS
    assert loaded.image_size == 224
    assert loaded.weights is WeightsKind.TINY_RANDOM_INIT
    assert loaded.source_id == "tiny"


def test_load_eager_attention_same_logits(classifier: ClipClassifier, tmp_path: Path) -> None:
    classifier.save(tmp_path)
    eager = ClipClassifier.load(tmp_path, attn_implementation="eager")
    pixels = _pixels(2)
    with torch.no_grad():
        assert torch.allclose(eager(pixels), classifier(pixels), atol=1e-5)


def test_load_missing_directory_names_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=CLASSIFIER_CONFIG_FILE):
        ClipClassifier.load(tmp_path / "absent")


def test_single_label_rejected(clip_and_processor) -> None:
    model, _ = clip_and_processor
    with pytest.raises(ValueError, match="at least 2 labels"):
        ClipClassifier.from_clip(model, ["only"], torch.zeros(1, 32))
