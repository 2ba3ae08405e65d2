"""One training epoch and one evaluation pass, for any module, under accelerate."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from accelerate import Accelerator
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

__all__ = ["evaluate", "train_one_epoch"]


def train_one_epoch(
    accelerator: Accelerator,
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    loader: DataLoader,
    *,
    description: str,
) -> float:
    """Run one epoch of cross-entropy training and return the mean training loss over all processes."""
    module.train()
    loss_sum = torch.zeros((), device=accelerator.device)
    count = torch.zeros((), device=accelerator.device)
    for inputs, labels in tqdm(loader, desc=description, unit="batch", disable=not accelerator.is_main_process, leave=False):
        logits = module(inputs)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        accelerator.backward(loss)
        optimizer.step()
        loss_sum += loss.detach() * labels.shape[0]
        count += labels.shape[0]
    totals = accelerator.reduce(torch.stack([loss_sum, count]), reduction="sum")
    return float(totals[0] / totals[1].clamp(min=1))


@torch.no_grad()
def evaluate(accelerator: Accelerator, module: nn.Module, loader: DataLoader) -> tuple[float, float]:
    """Return (mean cross-entropy loss, accuracy in 0..1) over the whole loader, gathered from all processes."""
    module.eval()
    loss_sum = 0.0
    correct = 0
    count = 0
    for inputs, labels in loader:
        logits = module(inputs)
        logits, labels = accelerator.gather_for_metrics((logits, labels))
        loss_sum += float(F.cross_entropy(logits, labels, reduction="sum"))
        correct += int((logits.argmax(dim=1) == labels).sum())
        count += int(labels.shape[0])
    if count == 0:
        raise ValueError("evaluation loader is empty; the split has no images")
    return loss_sum / count, correct / count
