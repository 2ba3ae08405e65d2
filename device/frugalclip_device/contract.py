"""The preprocessing contract shared by export (host) and inference (device).

The exported graph takes uint8 RGB images at model resolution in NHWC layout and does the
rest itself: cast, rescale by 1/255, normalise with the CLIP mean and std, transpose to NCHW.
So the device only decodes, resizes the shortest side with bicubic interpolation and
centre-crops, which is what transformers' ``CLIPImageProcessor`` does before rescaling.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = [
    "CLIP_MEAN",
    "CLIP_STD",
    "INPUT_NAME",
    "OUTPUT_NAME",
    "PREPROCESS_FILE",
    "PreprocessContract",
]

# OpenAI CLIP's normalisation, on 0..1 RGB values.
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# Names of the exported graph's single input and single output.
INPUT_NAME = "image"  # uint8 [batch, size, size, 3], RGB
OUTPUT_NAME = "probabilities"  # float32 [batch, num_classes], softmax over classes

PREPROCESS_FILE = "preprocess.json"


@dataclass(frozen=True)
class PreprocessContract:
    """Preprocessing steps that turn a decoded RGB image into the graph's input tensor."""

    image_size: int = 224  # square crop side in pixels, the model's input resolution
    resize_shortest_edge: int = 224  # pixels; the longer side keeps the aspect ratio
    crop: str = "center"
    interpolation: str = "bicubic"  # PIL.Image.Resampling.BICUBIC
    channel_order: str = "RGB"
    layout: str = "NHWC"
    dtype: str = "uint8"
    normalization: str = "in_graph"  # mean/std below are applied inside the ONNX graph
    mean: tuple[float, float, float] = CLIP_MEAN
    std: tuple[float, float, float] = CLIP_STD
    input_name: str = INPUT_NAME
    output_name: str = OUTPUT_NAME
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    def save(self, path: Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "PreprocessContract":
        """Read a contract file, raising ValueError that names the file on bad content."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ValueError(f"cannot read preprocessing contract {path}: {error}") from error
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(
                f"{path}: unknown preprocessing fields {unknown}; expected a subset of {sorted(known)}. "
                "Re-export the bundle with this version of frugalclip."
            )
        for name in ("mean", "std"):
            if name in raw:
                raw[name] = tuple(raw[name])
        return cls(**raw)
