"""On-disk cache of image embeddings of a frozen encoder, keyed by model fingerprint and file hash.

The linear probe and zero-shot evaluation run the vision tower once per image file and model.
A rerun, another method or another output folder then reuses the stored vectors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import CLIPImageProcessor

from frugalclip_device.bundle_format import sha256_file

from ..classifier import ClipClassifier
from .image_dataset import LabelledImageDataset
from .prepared_data import LabelledImage

__all__ = ["EmbeddingCache", "model_fingerprint"]

logger = logging.getLogger(__name__)


def model_fingerprint(classifier: ClipClassifier, image_processor: CLIPImageProcessor) -> str:
    """Return the SHA-256 of the vision weights and the image preprocessing settings."""
    digest = hashlib.sha256()
    for module_name in ("vision_model", "visual_projection"):
        state = getattr(classifier, module_name).state_dict()
        for name in sorted(state):
            tensor = state[name].detach().cpu().contiguous()
            digest.update(f"{module_name}.{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
            digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    digest.update(json.dumps(image_processor.to_dict(), sort_keys=True, default=str).encode())
    return digest.hexdigest()


class EmbeddingCache:
    """Embeddings stored as ``<root>/<model fingerprint[:16]>/<file sha256>.npy`` (float32 [D]).

    ``hits`` and ``misses`` count the lookups of this instance.
    """

    def __init__(self, root: Path, fingerprint: str) -> None:
        self.directory = Path(root) / fingerprint[:16]
        self.fingerprint = fingerprint
        self.hits = 0
        self.misses = 0

    def _path(self, file_sha256: str) -> Path:
        return self.directory / f"{file_sha256}.npy"

    def _store(self, file_sha256: str, embedding: np.ndarray) -> None:
        path = self._path(file_sha256)
        # Write then rename, so a concurrent reader never sees half a file.
        temporary = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
        np.save(temporary, embedding.astype(np.float32))
        os.replace(temporary, path)

    @torch.no_grad()
    def embeddings(
        self,
        classifier: ClipClassifier,
        image_processor: CLIPImageProcessor,
        items: Sequence[LabelledImage],
        *,
        batch_size: int,
        device: torch.device,
        show_progress: bool = True,
        description: str = "embedding images",
    ) -> torch.Tensor:
        """Return the L2-normalised embeddings [N, D] of ``items``, computing only those not cached."""
        self.directory.mkdir(parents=True, exist_ok=True)
        hashes = [sha256_file(item.path) for item in items]
        vectors: list[np.ndarray | None] = []
        missing: list[int] = []
        for index, file_sha256 in enumerate(hashes):
            path = self._path(file_sha256)
            if path.is_file():
                vectors.append(np.load(path))
                self.hits += 1
            else:
                vectors.append(None)
                missing.append(index)
        self.misses += len(missing)

        if missing:
            logger.info("computing %d of %d embeddings (%s)", len(missing), len(items), self.directory)
            dataset = LabelledImageDataset([items[index] for index in missing], image_processor)
            classifier.eval()
            starts = range(0, len(missing), batch_size)
            for start in tqdm(starts, desc=description, unit="batch", disable=not show_progress):
                batch_indices = missing[start : start + batch_size]
                pixels = torch.stack([dataset[position][0] for position in range(start, start + len(batch_indices))])
                batch = classifier.image_embeddings(pixels.to(device)).cpu().numpy()
                for index, embedding in zip(batch_indices, batch):
                    vectors[index] = embedding
                    self._store(hashes[index], embedding)

        return torch.from_numpy(np.stack(vectors)).float()
