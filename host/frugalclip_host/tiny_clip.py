"""Build CLIP directories offline, with random weights, for tests, demos and benchmarks.

The model hubs are not always reachable, so frugalclip can write a complete CLIP directory
(config, weights, tokenizer, image processor) that ``CLIPModel.from_pretrained`` and
``CLIPProcessor.from_pretrained`` load like a downloaded one. Its weights are random, so the
predictions of a model built here carry no information about CLIP.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import torch
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizerFast
from transformers.models.clip.tokenization_clip import bytes_to_unicode

from frugalclip_device.contract import CLIP_MEAN, CLIP_STD

from .weights_kind import WeightsKind, write_weights_marker

__all__ = ["TINY_CLIP_DEFAULTS", "build_random_vitb32", "build_tiny_clip"]

logger = logging.getLogger(__name__)

BOS_TOKEN = "<|startoftext|>"
EOS_TOKEN = "<|endoftext|>"

# A few byte-pair merges turn common prompt words into single tokens. Any other text is split
# into byte-level symbols, which the vocabulary always contains.
_MERGES = (
    ("t", "h"),
    ("th", "e</w>"),
    ("o", "f</w>"),
    ("p", "h"),
    ("ph", "o"),
    ("pho", "t"),
    ("phot", "o</w>"),
)

TINY_CLIP_DEFAULTS = {
    "image_size": 224,
    "patch_size": 32,
    "hidden_size": 64,
    "layers": 2,
    "heads": 2,
    "projection_dim": 32,
    "seed": 0,
}


def _write_bpe_files(directory: Path) -> tuple[Path, Path]:
    """Write a small CLIP BPE vocabulary and merge list; return (vocab.json, merges.txt)."""
    byte_symbols = list(bytes_to_unicode().values())
    tokens = byte_symbols + [symbol + "</w>" for symbol in byte_symbols]
    tokens += ["".join(merge) for merge in _MERGES]
    tokens += [BOS_TOKEN, EOS_TOKEN]
    vocab = {token: index for index, token in enumerate(tokens)}

    vocab_path = directory / "vocab.json"
    merges_path = directory / "merges.txt"
    vocab_path.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    # CLIPTokenizer skips the first line of merges.txt, a version header.
    merge_lines = ["#version: 0.2"] + [" ".join(merge) for merge in _MERGES]
    merges_path.write_text("\n".join(merge_lines) + "\n", encoding="utf-8")
    return vocab_path, merges_path


def _build_processor(image_size: int) -> CLIPProcessor:
    """Return a CLIP processor with the small tokenizer and the image processor at ``image_size``."""
    with tempfile.TemporaryDirectory(prefix="frugalclip-bpe-") as scratch:
        vocab_path, merges_path = _write_bpe_files(Path(scratch))
        tokenizer = CLIPTokenizerFast(
            vocab_file=str(vocab_path),
            merges_file=str(merges_path),
            bos_token=BOS_TOKEN,
            eos_token=EOS_TOKEN,
            unk_token=EOS_TOKEN,
            pad_token=EOS_TOKEN,
            model_max_length=77,
        )
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": image_size},
        crop_size={"height": image_size, "width": image_size},
        image_mean=list(CLIP_MEAN),
        image_std=list(CLIP_STD),
        resample=3,  # PIL bicubic, as in preprocess.json
    )
    return CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)


def _token_ids(processor: CLIPProcessor) -> dict[str, int]:
    tokenizer = processor.tokenizer
    return {
        "vocab_size": len(tokenizer),
        "bos_token_id": tokenizer.convert_tokens_to_ids(BOS_TOKEN),
        "eos_token_id": tokenizer.convert_tokens_to_ids(EOS_TOKEN),
        "pad_token_id": tokenizer.convert_tokens_to_ids(EOS_TOKEN),
    }


def _save_clip_directory(
    out_dir: Path, config: CLIPConfig, processor: CLIPProcessor, seed: int, kind: WeightsKind
) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = CLIPModel(config).eval()
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    write_weights_marker(out_dir, kind, seed=seed, builder="frugalclip_host.tiny_clip")
    parameters = sum(parameter.numel() for parameter in model.parameters())
    logger.info("wrote CLIP directory %s (%s weights, %d parameters)", out_dir, kind.value, parameters)
    return out_dir


def build_tiny_clip(
    out_dir: Path,
    *,
    image_size: int = 224,
    patch_size: int = 32,
    hidden_size: int = 64,
    layers: int = 2,
    heads: int = 2,
    projection_dim: int = 32,
    seed: int = 0,
) -> Path:
    """Write a small CLIP with random initialisation into ``out_dir`` and return ``out_dir``.

    The image side stays 224 px by default so that the tiny model shares ViT-B/32's
    preprocessing. The same arguments and seed give the same weights.
    """
    if hidden_size % heads != 0:
        raise ValueError(f"hidden_size {hidden_size} is not a multiple of heads {heads}; pick values that divide")
    if image_size % patch_size != 0:
        raise ValueError(f"image_size {image_size} px is not a multiple of patch_size {patch_size} px")

    processor = _build_processor(image_size)
    shared = {
        "hidden_size": hidden_size,
        "intermediate_size": 4 * hidden_size,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        # Repeated inside each tower so that CLIP*ModelWithProjection loaded from this directory
        # gets the right size; the top-level value alone is ignored there.
        "projection_dim": projection_dim,
    }
    text_config = {**shared, **_token_ids(processor), "max_position_embeddings": 77}
    vision_config = {**shared, "image_size": image_size, "patch_size": patch_size}
    config = CLIPConfig(text_config=text_config, vision_config=vision_config, projection_dim=projection_dim)
    return _save_clip_directory(out_dir, config, processor, seed, WeightsKind.TINY_RANDOM_INIT)


def build_random_vitb32(out_dir: Path, *, seed: int = 0) -> Path:
    """Write openai/clip-vit-base-patch32's architecture with random weights into ``out_dir``.

    For latency and memory benchmarks only: CLIPConfig's defaults are that architecture
    (vision: 768 hidden, 12 layers, 32 px patches, 224 px input; projection 512). The
    tokenizer is the small offline one, so the special token ids differ from the original
    text configuration. The text embedding table keeps its full 49408 rows.
    """
    processor = _build_processor(224)
    token_ids = _token_ids(processor)
    del token_ids["vocab_size"]
    config = CLIPConfig(text_config=token_ids, vision_config={})
    return _save_clip_directory(out_dir, config, processor, seed, WeightsKind.RANDOM)
