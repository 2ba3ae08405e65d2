"""The optional cap on images per class (max_per_class), sampled with a seed."""

from __future__ import annotations

import random

__all__ = ["cap_class_groups"]


def cap_class_groups(
    groups: list[list[int]], max_images: int | None, seed: int, class_name: str
) -> tuple[list[list[int]], list[int]]:
    """Return the groups trimmed to at most max_images images in total, and the removed images.

    Groups are taken whole in a random order fixed by seed and class name. Only the last group
    taken may lose members when the budget runs out inside it.
    """
    total = sum(len(group) for group in groups)
    if max_images is None or total <= max_images:
        return groups, []

    order = list(range(len(groups)))
    random.Random(f"cap:{seed}:{class_name}").shuffle(order)

    kept: list[list[int]] = []
    removed: list[int] = []
    budget = max_images
    for position in order:
        group = groups[position]
        taken = group[:budget]
        if taken:
            kept.append(taken)
        removed.extend(group[len(taken) :])
        budget -= len(taken)
    kept.sort(key=lambda members: members[0])
    return kept, sorted(removed)
