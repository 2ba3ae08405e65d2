"""Exact and near duplicate groups, and the policy that resolves them before the split.

Exact duplicates have the same decoded RGB pixels (SHA-256 of the pixels after EXIF
orientation and RGB conversion, before resizing), so a PNG copy of a JPEG matches but a
re-compressed JPEG does not. Near duplicates have 64-bit perceptual hashes
(imagehash.phash) within a Hamming distance threshold. Groups are the connected components
of both relations, so a chain of near duplicates forms one group.

Policy: within a class, exact copies are dropped except the first by path, and near
duplicates are kept but always land in the same split. A group that spans several classes is a
label conflict, and all its images are dropped, because the right label is unknown.

NOTE: at the default threshold of 4 bits, phash also links different small objects on a plain
background. On trashnet it links 2 of 5 cross-class pairs this way (metal159.jpg and
plastic11.jpg, metal154.jpg and plastic10.jpg), which are then dropped as label conflicts.
The report lists every pair with its distance, so such drops can be reviewed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from frugalclip_host.data.records import DropReason, DroppedFile, ScannedImage

__all__ = [
    "DuplicateGroup",
    "DuplicateResolution",
    "find_duplicate_groups",
    "near_duplicate_pairs",
    "resolve_duplicates",
]

logger = logging.getLogger(__name__)

# Upper bound on the XOR matrix elements held at once (8 bytes each, so about 32 MiB).
_BLOCK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class DuplicateGroup:
    members: tuple[int, ...]  # indices into the scanned images, ascending
    exact_sets: tuple[tuple[int, ...], ...]  # members with identical pixels, sets of two or more
    near_pairs: tuple[tuple[int, int, int], ...]  # (i, j, Hamming distance in bits)


def near_duplicate_pairs(phashes: np.ndarray, max_distance: int) -> list[tuple[int, int, int]]:
    """Return every pair (i, j, distance) with i < j whose hashes differ in at most max_distance bits.

    Compares all pairs, across classes too, in row blocks of an N x N XOR matrix so memory stays
    bounded; N = 50,000 images takes about 2.5e9 popcounts.
    """
    hashes = np.asarray(phashes, dtype=np.uint64)
    count = hashes.shape[0]
    pairs: list[tuple[int, int, int]] = []
    if count < 2:
        return pairs

    block_rows = max(1, _BLOCK_ELEMENTS // count)
    for start in range(0, count, block_rows):
        stop = min(count, start + block_rows)
        distances = np.bitwise_count(hashes[start:stop, None] ^ hashes[None, :])
        rows, columns = np.nonzero(distances <= max_distance)
        rows = rows + start
        upper = columns > rows
        for i, j in zip(rows[upper].tolist(), columns[upper].tolist()):
            pairs.append((i, j, int(distances[i - start, j])))
    return pairs


class _DisjointSet:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, item: int) -> int:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, first: int, second: int) -> None:
        first_root, second_root = self.find(first), self.find(second)
        if first_root != second_root:
            self.parent[max(first_root, second_root)] = min(first_root, second_root)


def find_duplicate_groups(images: list[ScannedImage], max_distance: int) -> list[DuplicateGroup]:
    """Return the groups of two or more images linked by identical pixels or near perceptual hashes."""
    disjoint = _DisjointSet(len(images))

    by_pixels: dict[str, list[int]] = defaultdict(list)
    for index, image in enumerate(images):
        by_pixels[image.pixel_sha256].append(index)
    exact_sets = [tuple(indices) for indices in by_pixels.values() if len(indices) > 1]
    for indices in exact_sets:
        for other in indices[1:]:
            disjoint.union(indices[0], other)

    phashes = np.array([image.phash for image in images], dtype=np.uint64)
    pairs = near_duplicate_pairs(phashes, max_distance)
    for i, j, _distance in pairs:
        disjoint.union(i, j)

    members_by_root: dict[int, list[int]] = defaultdict(list)
    for index in range(len(images)):
        members_by_root[disjoint.find(index)].append(index)

    exact_by_root: dict[int, list[tuple[int, ...]]] = defaultdict(list)
    for indices in exact_sets:
        exact_by_root[disjoint.find(indices[0])].append(indices)
    pairs_by_root: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for pair in pairs:
        pairs_by_root[disjoint.find(pair[0])].append(pair)

    groups = [
        DuplicateGroup(
            members=tuple(members),
            exact_sets=tuple(exact_by_root[root]),
            near_pairs=tuple(pairs_by_root[root]),
        )
        for root, members in sorted(members_by_root.items())
        if len(members) > 1
    ]
    logger.info(
        "found %d duplicate groups: %d exact sets, %d near pairs within %d bits",
        len(groups),
        len(exact_sets),
        len(pairs),
        max_distance,
    )
    return groups


@dataclass(frozen=True)
class DuplicateResolution:
    kept_groups: list[list[int]]  # every kept image in exactly one group; singletons included
    dropped: dict[int, DroppedFile]  # scanned index -> why it was dropped
    conflict_groups: list[DuplicateGroup]


def resolve_duplicates(images: list[ScannedImage], groups: list[DuplicateGroup]) -> DuplicateResolution:
    """Apply the module's policy; return the groups that must share a split and the dropped images."""
    dropped: dict[int, DroppedFile] = {}
    conflict_groups: list[DuplicateGroup] = []
    grouped: set[int] = set()
    kept_groups: list[list[int]] = []

    for group in groups:
        grouped.update(group.members)
        classes = sorted({images[index].class_name for index in group.members})
        if len(classes) > 1:
            conflict_groups.append(group)
            for index in group.members:
                others = [f"{images[o].path} ({images[o].class_name})" for o in group.members if o != index]
                dropped[index] = DroppedFile(
                    path=images[index].path,
                    class_name=images[index].class_name,
                    reason=DropReason.LABEL_CONFLICT,
                    detail=f"duplicate group spans classes {classes}: {', '.join(others)}",
                )
            continue

        for exact_set in group.exact_sets:
            kept = exact_set[0]
            for index in exact_set[1:]:
                dropped[index] = DroppedFile(
                    path=images[index].path,
                    class_name=images[index].class_name,
                    reason=DropReason.EXACT_DUPLICATE,
                    detail=f"same decoded pixels as {images[kept].path}",
                )
        kept_groups.append([index for index in group.members if index not in dropped])

    for index in range(len(images)):
        if index not in grouped:
            kept_groups.append([index])
    kept_groups.sort(key=lambda members: members[0])
    return DuplicateResolution(kept_groups=kept_groups, dropped=dropped, conflict_groups=conflict_groups)
