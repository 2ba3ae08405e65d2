"""Exact and near duplicate groups, and the policy that resolves them before the split.

Exact duplicates have the same decoded RGB pixels (SHA-256 of the pixels after EXIF
orientation and RGB conversion, before resizing), so a PNG copy of a JPEG matches but a
re-compressed JPEG does not. Near duplicates need two checks. Their 64-bit perceptual hashes
(imagehash.phash) are within a Hamming distance threshold, and their colour thumbnails
(:mod:`frugalclip_host.data.thumbnail`) differ by at most a second threshold. The second check
rejects different small objects on the same plain background: phash reads only luma at low
resolution and links such images, for example metal159.jpg and plastic11.jpg in TrashNet.
Groups are the connected components of both relations, so a chain of near duplicates forms one
group.

Policy: within a class, exact copies are dropped except the first by path, and near
duplicates are kept but always land in the same split. A group that spans several classes is a
label conflict, and all its images are dropped, because the right label is unknown. The report
lists every phash match with its distance and colour difference, the rejected ones included,
so both thresholds can be reviewed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from frugalclip_host.data.records import DropReason, DroppedFile, ScannedImage
from frugalclip_host.data.thumbnail import thumbnail_difference

__all__ = [
    "DuplicateGroup",
    "DuplicateResolution",
    "DuplicateSearch",
    "NearPair",
    "find_duplicate_groups",
    "near_duplicate_pairs",
    "resolve_duplicates",
]

logger = logging.getLogger(__name__)

# Upper bound on the XOR matrix elements held at once (8 bytes each, so about 32 MiB).
_BLOCK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class NearPair:
    """Two images whose perceptual hashes are within the distance threshold."""

    first: int  # index into the scanned images, smaller than second
    second: int
    distance_bits: int  # Hamming distance of the 64-bit phashes
    color_difference: float  # thumbnail_difference, in 8-bit levels


@dataclass(frozen=True)
class DuplicateGroup:
    members: tuple[int, ...]  # indices into the scanned images, ascending
    exact_sets: tuple[tuple[int, ...], ...]  # members with identical pixels, sets of two or more
    near_pairs: tuple[NearPair, ...]  # confirmed near duplicates among the members


@dataclass(frozen=True)
class DuplicateSearch:
    groups: list[DuplicateGroup]
    # phash matches whose colour thumbnails differ too much: not duplicates, listed for review
    rejected_pairs: list[NearPair]


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


def find_duplicate_groups(
    images: list[ScannedImage], max_distance: int, max_color_difference: float
) -> DuplicateSearch:
    """Group images linked by identical pixels or confirmed near duplicates; see the module docstring."""
    disjoint = _DisjointSet(len(images))

    by_pixels: dict[str, list[int]] = defaultdict(list)
    for index, image in enumerate(images):
        by_pixels[image.pixel_sha256].append(index)
    exact_sets = [tuple(indices) for indices in by_pixels.values() if len(indices) > 1]
    for indices in exact_sets:
        for other in indices[1:]:
            disjoint.union(indices[0], other)

    phashes = np.array([image.phash for image in images], dtype=np.uint64)
    confirmed: list[NearPair] = []
    rejected: list[NearPair] = []
    for i, j, distance in near_duplicate_pairs(phashes, max_distance):
        pair = NearPair(i, j, distance, thumbnail_difference(images[i].thumbnail, images[j].thumbnail))
        if pair.color_difference <= max_color_difference:
            confirmed.append(pair)
            disjoint.union(i, j)
        else:
            rejected.append(pair)

    members_by_root: dict[int, list[int]] = defaultdict(list)
    for index in range(len(images)):
        members_by_root[disjoint.find(index)].append(index)

    exact_by_root: dict[int, list[tuple[int, ...]]] = defaultdict(list)
    for indices in exact_sets:
        exact_by_root[disjoint.find(indices[0])].append(indices)
    pairs_by_root: dict[int, list[NearPair]] = defaultdict(list)
    for pair in confirmed:
        pairs_by_root[disjoint.find(pair.first)].append(pair)

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
        "found %d duplicate groups: %d exact sets, %d near pairs within %d bits and %g color levels "
        "(%d phash matches rejected by color)",
        len(groups),
        len(exact_sets),
        len(confirmed),
        max_distance,
        max_color_difference,
        len(rejected),
    )
    return DuplicateSearch(groups=groups, rejected_pairs=rejected)


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
