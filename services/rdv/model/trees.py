"""Decision trees, random forests and gradient-boosted trees as flat node arrays.

All trees of a model share one set of arrays; `roots` says where each tree starts. A batch is
scored by moving an (rows x trees) matrix of node indices down one level per step, for all
rows and trees at once, so Python loops only over depth, never over rows or trees.

Arrays: feature, threshold, left, right (-1 at leaves), leaf_value (regression value or GBT
tree output), leaf_stats (class counts at leaves, classifiers), split_categorical (1 where the
split tests categories), category_left (node x category: 1 if that category goes left),
roots, tree_weights.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from rdv.model.artifact import ArtifactError, StageSpec
from rdv.model.estimators import Output
from rdv.model.frame import Frame
from rdv.model.transformers import Widths

Nodes = npt.NDArray[np.intp]
# Rows x trees up to which a batch walks the trees in Python (`TreeEnsemble._walked`): one
# row of a single tree took 105 µs the numpy way on the development VM, 20 µs this way.
_WALKED_IN_PYTHON = 8

KINDS = {
    "DecisionTreeClassifier": ("classifier", "single"),
    "DecisionTreeRegressor": ("regressor", "single"),
    "RandomForestClassifier": ("classifier", "forest"),
    "RandomForestRegressor": ("regressor", "forest"),
    "GBTClassifier": ("classifier", "boosted"),
    "GBTRegressor": ("regressor", "boosted"),
}


class TreeEnsemble:
    def __init__(self, spec: StageSpec) -> None:
        self.spec = spec
        self.kind, self.ensemble = KINDS[spec.type]
        a = spec.arrays
        try:
            self.feature = np.asarray(a["feature"], dtype=np.intp)
            self.threshold = np.asarray(a["threshold"], dtype=np.float64)
            self.left = np.asarray(a["left"], dtype=np.intp)
            self.right = np.asarray(a["right"], dtype=np.intp)
            self.roots = np.asarray(a["roots"], dtype=np.intp)
            self.weights = np.asarray(
                a.get("tree_weights", np.ones(len(self.roots))), dtype=np.float64
            )
        except KeyError as exc:
            raise ArtifactError(f"{spec.type}: missing array {exc}") from exc
        n = len(self.feature)
        for name in ("threshold", "left", "right"):
            if getattr(self, name).shape != (n,):
                raise ArtifactError(f"{spec.type}: {name} must have one entry per node ({n})")
        inside = (self.left < n) & (self.right < n) & (self.roots < n).all()
        if n == 0 or not inside.all() or self.weights.shape != self.roots.shape:
            raise ArtifactError(f"{spec.type}: node links point outside the {n} nodes")
        self.is_leaf = self.left < 0
        self.categorical = np.asarray(a.get("split_categorical", np.zeros(n)), dtype=bool)
        self.category_left = np.asarray(a.get("category_left", np.zeros((n, 0))), dtype=bool)
        self.leaf_value = np.asarray(a.get("leaf_value", np.zeros(n)), dtype=np.float64)
        self.num_classes = 0
        if self.kind == "classifier" and self.ensemble != "boosted":
            stats = np.asarray(a.get("leaf_stats", np.zeros((n, 0))), dtype=np.float64)
            if stats.ndim != 2 or stats.shape[0] != n or stats.shape[1] < 2:
                raise ArtifactError(f"{spec.type}: leaf_stats must be nodes x classes")
            totals = stats.sum(axis=1, keepdims=True)
            self.leaf_probability = np.divide(
                stats, totals, out=np.zeros_like(stats), where=totals != 0
            )
            self.leaf_stats = stats
            self.num_classes = stats.shape[1]
        elif self.kind == "classifier":
            self.num_classes = 2  # Spark's GBT classifier is binary only
        self.depth = self._max_depth()
        # Only an ensemble of so few trees is ever walked in Python.
        self._nodes = _PlainNodes(self) if len(self.roots) <= _WALKED_IN_PYTHON else None

    def _max_depth(self) -> int:
        depth, level = 0, self.roots.copy()
        while True:
            internal = level[~self.is_leaf[level]]
            if internal.size == 0:
                return depth
            depth += 1
            if depth > len(self.feature):
                raise ArtifactError(f"{self.spec.type}: the node links contain a cycle")
            level = np.concatenate([self.left[internal], self.right[internal]])

    def widths(self, widths: Widths) -> Widths:
        source = self.spec.inputs[0] if self.spec.inputs else None
        if source not in widths:
            raise ArtifactError(f"{self.spec.type}: input {source!r} is produced by no stage")
        used = self.feature[~self.is_leaf]
        if used.size and (used.max() >= widths[source] or used.min() < 0):
            raise ArtifactError(
                f"{self.spec.type}: splits on feature {used.max()}, but its "
                f"input {source!r} is {widths[source]} wide"
            )
        return {}

    def leaves(self, x: npt.NDArray[np.float64]) -> Nodes:
        """The leaf each row reaches in each tree: shape (rows, trees)."""
        if x.shape[0] * len(self.roots) <= _WALKED_IN_PYTHON:
            return self._walked(x)
        rows = np.arange(x.shape[0])[:, None]
        node = np.broadcast_to(self.roots, (x.shape[0], len(self.roots))).copy()
        n_categories = self.category_left.shape[1]
        for _ in range(self.depth):
            internal = ~self.is_leaf[node]
            if not internal.any():
                break
            value = x[rows, self.feature[node].clip(min=0)]
            go_left = value <= self.threshold[node]  # NaN goes right, as in Spark
            if n_categories:
                with np.errstate(invalid="ignore"):  # huge values cast to no known index
                    category = np.nan_to_num(value, nan=-1.0).astype(np.intp)
                known = (category >= 0) & (category < n_categories)
                in_left = np.zeros_like(go_left)
                in_left[known] = self.category_left[node[known], category[known]]
                go_left = np.where(self.categorical[node], in_left, go_left)
            node = np.where(internal, np.where(go_left, self.left[node], self.right[node]), node)
        return node

    def _walked(self, x: npt.NDArray[np.float64]) -> Nodes:
        """`leaves` for a few rows and trees, node by node in Python: the same path as the
        batch walk's (NaN right, a category index truncated as numpy casts it), without its
        dozen numpy calls per level, which are most of a one-row batch's cost."""
        nodes = self._nodes
        assert nodes is not None, "walked only when rows x trees are few"
        return np.array(
            [[nodes.leaf(row, root) for root in nodes.roots] for row in x.tolist()],
            dtype=np.intp,
        ).reshape(x.shape[0], len(nodes.roots))

    def predict(self, frame: Frame) -> Output:
        leaf = self.leaves(frame.vector(self.spec.inputs[0]))
        if self.ensemble == "boosted":
            margin = (self.leaf_value[leaf] * self.weights).sum(axis=1)
            if self.kind == "regressor":
                return Output(margin, None)
            # Spark's GBT classifier: logistic loss with a factor 2 on the margin.
            with np.errstate(over="ignore"):  # as in the logistic regression: p1 -> 0 is right
                p1 = 1.0 / (1.0 + np.exp(-2.0 * margin))
            return Output((margin > 0).astype(np.float64), np.column_stack([1 - p1, p1]))
        if self.kind == "regressor":
            return Output(self.leaf_value[leaf].mean(axis=1), None)
        if self.ensemble == "single":
            raw = self.leaf_stats[leaf[:, 0]]
        else:  # a forest votes with each tree's normalised class counts
            raw = self.leaf_probability[leaf].sum(axis=1)
        totals = raw.sum(axis=1, keepdims=True)
        probability = np.divide(raw, totals, out=np.zeros_like(raw), where=totals != 0)
        return Output(raw.argmax(axis=1).astype(np.float64), probability)


class _PlainNodes:
    """The node arrays as Python lists, for walking a few rows without numpy."""

    def __init__(self, trees: TreeEnsemble) -> None:
        self.roots: list[int] = trees.roots.tolist()
        self.feature: list[int] = trees.feature.tolist()
        self.threshold: list[float] = trees.threshold.tolist()
        self.left: list[int] = trees.left.tolist()
        self.right: list[int] = trees.right.tolist()
        self.categorical: list[bool] = trees.categorical.tolist()
        self.category_left: list[list[bool]] = trees.category_left.tolist()
        self.n_categories = trees.category_left.shape[1]

    def leaf(self, row: list[float], node: int) -> int:
        left, right = self.left, self.right
        while left[node] >= 0:
            value = row[self.feature[node]]
            if self.n_categories and self.categorical[node]:
                # numpy casts NaN (as -1), infinities and the out-of-range to no known index,
                # and truncates the rest toward zero, as int() does.
                known = math.isfinite(value) and 0 <= int(value) < self.n_categories
                go_left = known and self.category_left[node][int(value)]
            else:
                go_left = value <= self.threshold[node]  # NaN goes right, as in Spark
            node = left[node] if go_left else right[node]
        return node
