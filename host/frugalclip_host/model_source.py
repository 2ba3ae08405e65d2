"""Load a CLIP model and processor from the Hugging Face Hub or a local directory.

When the Hub cannot be reached and the caller allows it, fall back to the embedded tiny CLIP
with random initialisation (``tiny_clip.build_tiny_clip``) and log a warning. Results of that
model carry no information about CLIP.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from transformers import CLIPModel, CLIPProcessor

from .tiny_clip import build_tiny_clip
from .weights_kind import WEIGHTS_MARKER_FILE, WeightsKind, read_weights_kind

__all__ = [
    "DEFAULT_MODEL_ID",
    "HUB_CONNECT_TIMEOUT_S",
    "TINY_CLIP_SOURCE_ID",
    "LoadedClip",
    "ModelSourceError",
    "load_clip",
]

logger = logging.getLogger(__name__)

DEFAULT_MODEL_ID = "openai/clip-vit-base-patch32"
TINY_CLIP_SOURCE_ID = "frugalclip/tiny-clip-random-init"

# A Hub download that cannot connect retries for about a minute in huggingface_hub 0.36;
# one short TCP connect first makes an offline machine fall back in seconds.
HUB_CONNECT_TIMEOUT_S = 5.0

_TRUE_VALUES = {"1", "on", "yes", "true"}


class ModelSourceError(RuntimeError):
    """A CLIP model could not be loaded from the given id or directory."""


@dataclass
class LoadedClip:
    """A CLIP model with its processor and where its weights came from."""

    model: CLIPModel
    processor: CLIPProcessor
    source_id: str
    revision: str | None  # Hub commit hash when loaded from the Hub or its cache
    weights: WeightsKind
    fell_back: bool  # True when the embedded tiny CLIP replaced the requested model


def _hub_offline() -> bool:
    # Read at call time: huggingface_hub reads HF_HUB_OFFLINE only once, when it is imported.
    return any(os.environ.get(name, "").lower() in _TRUE_VALUES for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _check_hub_reachable() -> None:
    """Raise OSError unless a TCP connection to the Hub endpoint opens within the timeout.

    Behind an HTTP(S) proxy a direct connection proves nothing, so the check is skipped and
    huggingface_hub's own retries decide.
    """
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return
    from huggingface_hub import constants

    endpoint = urlparse(constants.ENDPOINT)
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=HUB_CONNECT_TIMEOUT_S):
            pass
    except OSError as error:
        raise OSError(f"cannot connect to {host}:{port} within {HUB_CONNECT_TIMEOUT_S:g} s: {error}") from error


def _load_pair(source: str | Path, *, local_files_only: bool) -> tuple[CLIPModel, CLIPProcessor]:
    model = CLIPModel.from_pretrained(source, local_files_only=local_files_only)
    # use_fast=False keeps PIL's bicubic resize, the one the device runtime uses.
    processor = CLIPProcessor.from_pretrained(source, local_files_only=local_files_only, use_fast=False)
    return model.eval(), processor


def _load_local_directory(directory: Path) -> LoadedClip:
    model, processor = _load_pair(directory, local_files_only=True)
    weights = read_weights_kind(directory)
    source_id = TINY_CLIP_SOURCE_ID if weights is WeightsKind.TINY_RANDOM_INIT else str(directory)
    return LoadedClip(model, processor, source_id, None, weights, fell_back=False)


def _load_from_hub(model_id: str) -> LoadedClip:
    """Load from the local Hub cache, else download; raise OSError when neither works."""
    try:
        model, processor = _load_pair(model_id, local_files_only=True)
    except OSError:
        if _hub_offline():
            raise OSError(f"{model_id} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set") from None
        _check_hub_reachable()
        model, processor = _load_pair(model_id, local_files_only=False)
    revision = getattr(model.config, "_commit_hash", None)
    return LoadedClip(model, processor, model_id, revision, WeightsKind.PRETRAINED, fell_back=False)


def _load_tiny_fallback(directory: Path) -> LoadedClip:
    directory = Path(directory)
    if not (directory / "config.json").is_file() or not (directory / WEIGHTS_MARKER_FILE).is_file():
        logger.info("building the embedded tiny CLIP in %s", directory)
        build_tiny_clip(directory)
    loaded = _load_local_directory(directory)
    loaded.fell_back = True
    return loaded


def load_clip(model_id_or_path: str, *, fallback_tiny_dir: Path | None = None) -> LoadedClip:
    """Load CLIP from a local directory or a Hub id; fall back to the tiny CLIP if allowed.

    ``fallback_tiny_dir`` is where the tiny CLIP is built (or reused) when the Hub id cannot
    be loaded. Without it, a failure raises ``ModelSourceError``. A local directory that
    fails to load always raises, because falling back would hide a broken file.
    """
    local = Path(model_id_or_path).expanduser()
    if local.is_dir():
        try:
            loaded = _load_local_directory(local)
        except (OSError, ValueError) as error:
            raise ModelSourceError(
                f"cannot load a CLIP model from directory {local}: {error}. "
                "Point --model at a directory written by CLIPModel.save_pretrained, or at a Hub id."
            ) from error
        logger.info("loaded CLIP from %s (%s weights)", local, loaded.weights.value)
        return loaded

    try:
        loaded = _load_from_hub(model_id_or_path)
    except (OSError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if fallback_tiny_dir is None:
            raise ModelSourceError(
                f"could not load {model_id_or_path} from the Hugging Face Hub ({reason}). "
                "Connect to the network, or pass a local CLIP directory, or allow the tiny fallback."
            ) from error
        logger.warning(
            "could not load %s from the Hugging Face Hub (%s); using the embedded tiny CLIP with random "
            "initialisation instead: its accuracy says nothing about CLIP",
            model_id_or_path,
            reason,
        )
        return _load_tiny_fallback(fallback_tiny_dir)

    logger.info("loaded CLIP %s at revision %s", loaded.source_id, loaded.revision)
    return loaded
