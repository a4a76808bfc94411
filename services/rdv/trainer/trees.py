"""Flattening Spark's fitted decision trees (read through py4j) into the artifact's arrays."""

from __future__ import annotations

from typing import Any

import numpy as np


def _walk(root: Any) -> list[dict[str, Any]]:
    """Nodes of one tree in breadth-first order with child links as indices."""
    nodes: list[dict[str, Any]] = []
    queue: list[Any] = [root]
    while queue:
        node = queue.pop(0)
        kind = node.getClass().getSimpleName()
        entry: dict[str, Any] = {"prediction": float(node.prediction())}
        stats = node.impurityStats()
        entry["stats"] = [float(v) for v in stats.stats()] if stats is not None else []
        if kind == "InternalNode":
            split = node.split()
            entry["feature"] = int(split.featureIndex())
            if split.getClass().getSimpleName() == "CategoricalSplit":
                entry["left_categories"] = [int(c) for c in split.leftCategories()]
            else:
                entry["threshold"] = float(split.threshold())
            entry["children"] = []
            queue.extend([node.leftChild(), node.rightChild()])
        nodes.append(entry)
    # Breadth first, every internal node has two children: the k-th internal node's
    # children are the next two nodes not yet claimed.
    pending = [i for i, n in enumerate(nodes) if "children" in n]
    child = 1
    for parent in pending:
        nodes[parent]["children"] = [child, child + 1]
        child += 2
    return nodes


def flatten(trees: list[Any], weights: list[float], classifier: bool) -> dict[str, np.ndarray]:
    """Arrays for rdv.model.trees.TreeEnsemble from Spark tree models (DT, RF or GBT trees)."""
    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    right: list[int] = []
    leaf_value: list[float] = []
    stats: list[list[float]] = []
    categorical: list[int] = []
    categories: list[list[int]] = []
    roots: list[int] = []
    for tree in trees:
        base = len(feature)
        roots.append(base)
        for node in _walk(tree._java_obj.rootNode()):
            children = node.get("children")
            feature.append(node.get("feature", -1))
            threshold.append(node.get("threshold", 0.0))
            left.append(base + children[0] if children else -1)
            right.append(base + children[1] if children else -1)
            leaf_value.append(node["prediction"])
            stats.append(node["stats"])
            categorical.append(int("left_categories" in node))
            categories.append(node.get("left_categories", []))
    width = max((max(c) + 1 for c in categories if c), default=0)
    table = np.zeros((len(feature), width))
    for i, cats in enumerate(categories):
        table[i, cats] = 1.0
    arrays = {
        "feature": np.array(feature),
        "threshold": np.array(threshold),
        "left": np.array(left),
        "right": np.array(right),
        "leaf_value": np.array(leaf_value),
        "roots": np.array(roots),
        "tree_weights": np.array(weights, dtype=float),
        "split_categorical": np.array(categorical),
        "category_left": table,
    }
    if classifier:
        classes = max(len(s) for s in stats)
        arrays["leaf_stats"] = np.array([s + [0.0] * (classes - len(s)) for s in stats])
    return arrays
