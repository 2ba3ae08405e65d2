"""The tiny offline CLIP loads through the standard transformers entry points."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image
from transformers import CLIPModel, CLIPProcessor, CLIPTokenizer, CLIPVisionModelWithProjection

from frugalclip_host.tiny_clip import build_random_vitb32, build_tiny_clip
from frugalclip_host.weights_kind import WEIGHTS_MARKER_FILE, WeightsKind, read_weights_kind


def test_tiny_clip_model_loads(tiny_clip_dir: Path) -> None:
    model = CLIPModel.from_pretrained(tiny_clip_dir)
    assert model.config.projection_dim == 32


def test_tiny_clip_image_size_224(tiny_clip_dir: Path) -> None:
    model = CLIPModel.from_pretrained(tiny_clip_dir)
    assert model.config.vision_config.image_size == 224


def test_tiny_clip_processor_crops_224(tiny_clip_dir: Path) -> None:
    processor = CLIPProcessor.from_pretrained(tiny_clip_dir)
    pixels = processor(images=[Image.new("RGB", (320, 200), "red")], return_tensors="pt")["pixel_values"]
    assert tuple(pixels.shape) == (1, 3, 224, 224)


def test_tiny_clip_tokenizer_brackets_text(tiny_clip_dir: Path) -> None:
    tokenizer = CLIPTokenizer.from_pretrained(tiny_clip_dir)
    ids = tokenizer("a photo of a cat.")["input_ids"]
    config = CLIPModel.from_pretrained(tiny_clip_dir).config.text_config
    assert ids[0] == config.bos_token_id
    assert ids[-1] == config.eos_token_id
    assert max(ids) < config.vocab_size


def test_tiny_clip_merges_prompt_words(tiny_clip_dir: Path) -> None:
    tokenizer = CLIPTokenizer.from_pretrained(tiny_clip_dir)
    tokens = tokenizer.tokenize("a photo of the cat")
    assert tokens[:4] == ["a</w>", "photo</w>", "of</w>", "the</w>"]


def test_tiny_clip_vision_projection_dim(tiny_clip_dir: Path) -> None:
    # CLIPVisionModelWithProjection reads only vision_config; the builder repeats projection_dim there.
    vision = CLIPVisionModelWithProjection.from_pretrained(tiny_clip_dir)
    assert vision.visual_projection.out_features == 32


def test_tiny_clip_text_and_image_embeddings(tiny_clip_dir: Path) -> None:
    model = CLIPModel.from_pretrained(tiny_clip_dir).eval()
    processor = CLIPProcessor.from_pretrained(tiny_clip_dir)
    inputs = processor(
        text=["a photo of a cat.", "a photo of the sea."],
        images=[Image.new("RGB", (240, 240), "blue")],
        return_tensors="pt",
        padding=True,
    )
    with torch.no_grad():
        output = model(**inputs)
    assert tuple(output.logits_per_image.shape) == (1, 2)
    assert bool(torch.isfinite(output.logits_per_image).all())


def test_tiny_clip_marker_says_tiny(tiny_clip_dir: Path) -> None:
    assert read_weights_kind(tiny_clip_dir) is WeightsKind.TINY_RANDOM_INIT


def test_tiny_clip_same_seed_same_weights(tmp_path: Path) -> None:
    first = CLIPModel.from_pretrained(build_tiny_clip(tmp_path / "a", layers=1, hidden_size=32))
    second = CLIPModel.from_pretrained(build_tiny_clip(tmp_path / "b", layers=1, hidden_size=32))
    assert torch.equal(first.visual_projection.weight, second.visual_projection.weight)


def test_weights_kind_without_marker_is_pretrained(tmp_path: Path) -> None:
    assert read_weights_kind(tmp_path) is WeightsKind.PRETRAINED


def test_weights_kind_bad_marker_names_file(tmp_path: Path) -> None:
    (tmp_path / WEIGHTS_MARKER_FILE).write_text(json.dumps({"weights": "bogus"}), encoding="utf-8")
    with pytest.raises(ValueError, match=WEIGHTS_MARKER_FILE):
        read_weights_kind(tmp_path)


@pytest.mark.slow
def test_random_vitb32_architecture(tmp_path: Path) -> None:
    directory = build_random_vitb32(tmp_path / "vitb32")
    vision = CLIPVisionModelWithProjection.from_pretrained(directory)
    assert vision.config.hidden_size == 768
    assert vision.config.num_hidden_layers == 12
    assert vision.config.patch_size == 32
    assert vision.visual_projection.out_features == 512
    assert read_weights_kind(directory) is WeightsKind.RANDOM
