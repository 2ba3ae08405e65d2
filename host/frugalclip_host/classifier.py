"""The image classifier that frugalclip trains and exports: CLIP's vision tower and a linear head.

``forward`` takes CLIP-normalised float pixels (NCHW) and returns logits. The export step
wraps it with the uint8 preprocessing and softmax described in models/FORMAT.md.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import Tensor, nn
from transformers import CLIPModel, CLIPVisionConfig
from transformers.models.clip.modeling_clip import CLIPVisionTransformer

from .weights_kind import WeightsKind

__all__ = [
    "CLASSIFIER_CONFIG_FILE",
    "CLASSIFIER_WEIGHTS_FILE",
    "DEFAULT_PROMPT_TEMPLATES",
    "ClipClassifier",
    "zero_shot_head",
]

logger = logging.getLogger(__name__)

CLASSIFIER_CONFIG_FILE = "classifier.json"
CLASSIFIER_WEIGHTS_FILE = "classifier.safetensors"
CLASSIFIER_FORMAT_VERSION = 1

DEFAULT_PROMPT_TEMPLATES = ("a photo of a {}.",)


class ClipClassifier(nn.Module):
    """CLIP vision tower, visual projection, L2 normalisation and a linear head over class names.

    Attributes used by the exporter: ``vision_model`` (CLIPVisionTransformer),
    ``visual_projection`` (Linear without bias), ``head`` (Linear with weight
    [num_classes, projection_dim] and a bias, zero at start), ``logit_scale`` (CLIP's
    exp(logit_scale), a frozen scalar parameter unless training unfreezes it), ``labels``,
    ``image_size`` (px).
    """

    def __init__(
        self,
        vision_config: CLIPVisionConfig,
        projection_dim: int,
        labels: Sequence[str],
        *,
        logit_scale: float = 100.0,
        source_id: str = "",
        revision: str | None = None,
        weights: WeightsKind = WeightsKind.PRETRAINED,
        resize_shortest_edge_px: int | None = None,
    ) -> None:
        super().__init__()
        if len(labels) < 2:
            raise ValueError(f"a classifier needs at least 2 labels, got {list(labels)}")
        if vision_config._attn_implementation is None:
            vision_config._attn_implementation = "sdpa"

        self.vision_config = vision_config
        self.vision_model = CLIPVisionTransformer(vision_config)
        self.visual_projection = nn.Linear(vision_config.hidden_size, projection_dim, bias=False)
        self.head = nn.Linear(projection_dim, len(labels), bias=True)
        nn.init.zeros_(self.head.bias)
        self.logit_scale = nn.Parameter(torch.tensor(float(logit_scale)), requires_grad=False)

        self.labels = list(labels)
        self.image_size = int(vision_config.image_size)
        self.resize_shortest_edge_px = int(resize_shortest_edge_px or self.image_size)
        self.source_id = source_id
        self.revision = revision
        self.weights = WeightsKind(weights)

    @property
    def projection_dim(self) -> int:
        return self.visual_projection.out_features

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def image_embeddings(self, pixel_values: Tensor) -> Tensor:
        """Return L2-normalised image embeddings [B, D] of CLIP-normalised pixels [B, 3, S, S]."""
        pooled = self.vision_model(pixel_values=pixel_values).pooler_output
        return F.normalize(self.visual_projection(pooled), dim=-1)

    def logits_from_embeddings(self, embeddings: Tensor) -> Tensor:
        """Return logits [B, C] = logit_scale * embeddings @ head.weight.T + head.bias."""
        return self.logit_scale * F.linear(embeddings, self.head.weight) + self.head.bias

    def forward(self, pixel_values: Tensor) -> Tensor:
        return self.logits_from_embeddings(self.image_embeddings(pixel_values))

    @classmethod
    def from_clip(
        cls,
        clip_model: CLIPModel,
        labels: Sequence[str],
        head_weight: Tensor,
        *,
        source_id: str = "",
        revision: str | None = None,
        weights: WeightsKind = WeightsKind.PRETRAINED,
        resize_shortest_edge_px: int | None = None,
    ) -> "ClipClassifier":
        """Build a classifier from a CLIP model's vision side and a head weight [C, D].

        The vision tower and projection are copied, so training the classifier leaves
        ``clip_model`` unchanged.
        """
        projection_dim = clip_model.visual_projection.out_features
        expected_shape = (len(labels), projection_dim)
        if tuple(head_weight.shape) != expected_shape:
            raise ValueError(
                f"head_weight has shape {tuple(head_weight.shape)}, expected {expected_shape} "
                "(one row per label, projection_dim columns)"
            )
        vision_config = copy.deepcopy(clip_model.config.vision_config)
        vision_config._attn_implementation = clip_model.vision_model.config._attn_implementation
        classifier = cls(
            vision_config,
            projection_dim,
            labels,
            logit_scale=float(clip_model.logit_scale.detach().exp()),
            source_id=source_id,
            revision=revision,
            weights=weights,
            resize_shortest_edge_px=resize_shortest_edge_px,
        )
        classifier.vision_model.load_state_dict(clip_model.vision_model.state_dict())
        classifier.visual_projection.load_state_dict(clip_model.visual_projection.state_dict())
        with torch.no_grad():
            classifier.head.weight.copy_(head_weight.detach().to(classifier.head.weight.dtype))
        return classifier.eval()

    def config_dict(self) -> dict:
        vision = self.vision_config.to_dict()
        vision.pop("_attn_implementation_autoset", None)
        return {
            "format_version": CLASSIFIER_FORMAT_VERSION,
            "labels": self.labels,
            "image_size": self.image_size,
            "resize_shortest_edge": self.resize_shortest_edge_px,
            "projection_dim": self.projection_dim,
            "vision_config": vision,
            "source_model": {"id": self.source_id, "revision": self.revision, "weights": self.weights.value},
        }

    def save(self, directory: Path) -> None:
        """Write the weights (safetensors) and the configuration (JSON) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        state = {name: tensor.detach().cpu().contiguous() for name, tensor in self.state_dict().items()}
        save_file(state, str(directory / CLASSIFIER_WEIGHTS_FILE))
        config_text = json.dumps(self.config_dict(), indent=2) + "\n"
        (directory / CLASSIFIER_CONFIG_FILE).write_text(config_text, encoding="utf-8")
        logger.info("saved classifier (%d labels, %s weights) to %s", self.num_classes, self.weights.value, directory)

    @classmethod
    def load(cls, directory: Path, *, attn_implementation: str = "sdpa") -> "ClipClassifier":
        """Read a classifier written by ``save``; needs no network and no CLIP directory.

        ``attn_implementation`` is the transformers attention kernel ("sdpa" or "eager").
        """
        directory = Path(directory)
        config_path = directory / CLASSIFIER_CONFIG_FILE
        weights_path = directory / CLASSIFIER_WEIGHTS_FILE
        for path in (config_path, weights_path):
            if not path.is_file():
                raise FileNotFoundError(f"classifier file not found: {path}; run `frugalclip train` to create it")
        try:
            raw = json.loads(config_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"invalid classifier configuration {config_path}: {error}") from error
        if raw.get("format_version") != CLASSIFIER_FORMAT_VERSION:
            raise ValueError(
                f"{config_path}: format_version {raw.get('format_version')!r} is not supported, "
                f"expected {CLASSIFIER_FORMAT_VERSION}; retrain with this version of frugalclip"
            )

        vision_config = CLIPVisionConfig.from_dict(raw["vision_config"])
        vision_config._attn_implementation = attn_implementation
        source = raw.get("source_model", {})
        classifier = cls(
            vision_config,
            int(raw["projection_dim"]),
            raw["labels"],
            source_id=source.get("id", ""),
            revision=source.get("revision"),
            weights=WeightsKind(source.get("weights", WeightsKind.PRETRAINED.value)),
            resize_shortest_edge_px=int(raw.get("resize_shortest_edge", raw["image_size"])),
        )
        classifier.load_state_dict(load_file(str(weights_path)))
        return classifier.eval()


def _prompt_label(label: str) -> str:
    """Return the class name as words for a prompt: "white_glass" becomes "white glass"."""
    return label.replace("_", " ").replace("-", " ").strip()


@torch.no_grad()
def zero_shot_head(
    clip_model: CLIPModel,
    processor_or_tokenizer,
    labels: Sequence[str],
    templates: Sequence[str] = DEFAULT_PROMPT_TEMPLATES,
) -> Tensor:
    """Return the zero-shot head [C, D]: per label, the normalised mean of its normalised prompt embeddings."""
    if not templates:
        raise ValueError("zero_shot_head needs at least one prompt template such as 'a photo of a {}.'")
    tokenizer = getattr(processor_or_tokenizer, "tokenizer", processor_or_tokenizer)
    device = next(clip_model.parameters()).device
    rows = []
    for label in labels:
        prompts = [template.format(_prompt_label(label)) for template in templates]
        tokens = tokenizer(prompts, padding=True, truncation=True, return_tensors="pt").to(device)
        text_embeddings = F.normalize(clip_model.get_text_features(**tokens), dim=-1)
        rows.append(F.normalize(text_embeddings.mean(dim=0), dim=-1))
    return torch.stack(rows).cpu()
