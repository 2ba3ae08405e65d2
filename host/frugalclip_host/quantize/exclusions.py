"""Pick the nodes of an exported graph that quantization must leave in float."""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import onnx

__all__ = ["Exclusions", "classification_tail", "resolve_exclusions"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Exclusions:
    """Node names to pass as ``nodes_to_exclude``, with the rule that excluded each."""

    head: tuple[str, ...]
    by_op_type: tuple[str, ...]
    by_pattern: tuple[str, ...]

    @property
    def nodes(self) -> list[str]:
        return sorted(set(self.head) | set(self.by_op_type) | set(self.by_pattern))


def classification_tail(model: onnx.ModelProto) -> list[str]:
    """Return the names of the last LayerNormalization node and every node downstream of it.

    In an exported frugalclip graph the last LayerNormalization is the vision tower's
    post-layernorm, so this is: post-layernorm, projection, L2 normalisation, head, softmax.
    Found by data flow rather than by name, so it survives the renaming done by pre-processing.
    """
    nodes = list(model.graph.node)
    last_norm = max(
        (index for index, node in enumerate(nodes) if node.op_type == "LayerNormalization"), default=None
    )
    if last_norm is None:
        raise ValueError("the graph has no LayerNormalization node, so its classification tail cannot be found")

    # Nodes are stored in topological order, so one forward pass collects every descendant.
    reached = set(nodes[last_norm].output)
    tail = [nodes[last_norm].name]
    for node in nodes[last_norm + 1 :]:
        if reached.intersection(node.input):
            reached.update(node.output)
            tail.append(node.name)
    return tail


def _matches(node: onnx.NodeProto, pattern: str) -> bool:
    return node.op_type == pattern or fnmatch.fnmatchcase(node.name, pattern)


def resolve_exclusions(
    model: onnx.ModelProto,
    *,
    exclude_head: bool,
    exclude_op_types: Sequence[str] = (),
    exclude_patterns: Sequence[str] = (),
) -> Exclusions:
    """Turn exclusion rules into node names of ``model``.

    A pattern is an op type (``LayerNormalization``) or a glob on node names
    (``node_MatMul_1*``). A pattern that matches no node raises ValueError: a typo would
    otherwise quantize what the user meant to keep.
    """
    nodes = list(model.graph.node)
    unnamed = [index for index, node in enumerate(nodes) if not node.name]
    if unnamed:
        raise ValueError(f"{len(unnamed)} nodes have no name, so they cannot be excluded by name; re-export the model")

    head = classification_tail(model) if exclude_head else []
    by_op_type = [node.name for node in nodes if node.op_type in set(exclude_op_types)]

    by_pattern: list[str] = []
    for pattern in exclude_patterns:
        matched = [node.name for node in nodes if _matches(node, pattern)]
        if not matched:
            examples = ", ".join(node.name for node in nodes[:5])
            raise ValueError(
                f"exclusion pattern {pattern!r} matches no node name or op type; "
                f"node names look like: {examples}"
            )
        by_pattern.extend(matched)

    exclusions = Exclusions(head=tuple(head), by_op_type=tuple(by_op_type), by_pattern=tuple(by_pattern))
    logger.info(
        "excluding %d nodes from quantization (%d in the classification tail, %d by op type, %d by pattern)",
        len(exclusions.nodes),
        len(head),
        len(by_op_type),
        len(by_pattern),
    )
    return exclusions
