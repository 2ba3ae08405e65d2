"""Stratified train/val/test split that keeps every duplicate group in one split."""

from __future__ import annotations

import math
import random
from enum import Enum

__all__ = ["Split", "active_splits", "split_class_groups", "split_targets"]


class Split(str, Enum):
    TRAIN = "train"
    VAL = "val"
    TEST = "test"


def active_splits(val_fraction: float, test_fraction: float) -> list[Split]:
    """Return the splits that must receive images: train always, val and test when their fraction is > 0."""
    splits = [Split.TRAIN]
    if val_fraction > 0:
        splits.append(Split.VAL)
    if test_fraction > 0:
        splits.append(Split.TEST)
    return splits


def split_targets(image_count: int, val_fraction: float, test_fraction: float) -> dict[Split, int]:
    """Return the image count each split aims at; a split with a fraction > 0 aims at one image or more."""
    targets: dict[Split, int] = {}
    for split, fraction in ((Split.VAL, val_fraction), (Split.TEST, test_fraction)):
        targets[split] = max(1, math.floor(image_count * fraction + 0.5)) if fraction > 0 else 0
    targets[Split.TRAIN] = image_count - targets[Split.VAL] - targets[Split.TEST]
    return targets


def split_class_groups(
    groups: list[list[int]],
    val_fraction: float,
    test_fraction: float,
    seed: int,
    class_name: str,
) -> dict[Split, list[int]]:
    """Assign each group of one class to a split; return the image indices of each split, ascending.

    Groups go, largest first and in a random order fixed by seed and class name among equal
    sizes, to the split furthest below its target. Afterwards every active split that is still
    empty takes the smallest group of the split holding the most groups. The caller checks that
    the class has at least one group per active split.
    """
    required = active_splits(val_fraction, test_fraction)
    image_count = sum(len(group) for group in groups)
    targets = split_targets(image_count, val_fraction, test_fraction)

    order = list(range(len(groups)))
    random.Random(f"split:{seed}:{class_name}").shuffle(order)
    order.sort(key=lambda position: -len(groups[position]))

    assigned: dict[Split, list[int]] = {split: [] for split in Split}
    counts = {split: 0 for split in Split}
    for position in order:
        # Ties go to train, then val, then test (the order of `required`).
        split = max(required, key=lambda candidate: targets[candidate] - counts[candidate])
        assigned[split].append(position)
        counts[split] += len(groups[position])

    for split in required:
        if assigned[split]:
            continue
        donor = max(required, key=lambda candidate: len(assigned[candidate]))
        smallest = min(assigned[donor], key=lambda position: len(groups[position]))
        assigned[donor].remove(smallest)
        assigned[split].append(smallest)

    return {
        split: sorted(index for position in positions for index in groups[position])
        for split, positions in assigned.items()
    }
