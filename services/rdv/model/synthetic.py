"""Random models of every estimator kind, for benchmarks: realistic shapes, meaningless
weights. A 100-tree depth-8 forest is 51,100 nodes."""

from __future__ import annotations

from typing import Any

import numpy as np

from rdv.model.artifact import FeatureSpec, ModelArtifact, StageSpec

ESTIMATORS = (
    "LogisticRegression",
    "LinearRegression",
    "DecisionTreeClassifier",
    "RandomForestClassifier",
    "GBTClassifier",
    "RandomForestRegressor",
)


def _complete_trees(
    rng: np.random.Generator, trees: int, depth: int, width: int, classes: int
) -> dict[str, Any]:
    internal, leaves = 2**depth - 1, 2**depth
    per_tree = internal + leaves
    total = trees * per_tree
    feature = np.full(total, -1)
    threshold = np.zeros(total)
    left = np.full(total, -1)
    right = np.full(total, -1)
    for t in range(trees):
        base = t * per_tree
        idx = np.arange(internal)
        feature[base + idx] = rng.integers(width, size=internal)
        threshold[base + idx] = rng.normal(size=internal)
        left[base + idx] = base + 2 * idx + 1
        right[base + idx] = base + 2 * idx + 2
    arrays: dict[str, Any] = {
        "feature": feature,
        "threshold": threshold,
        "left": left,
        "right": right,
        "roots": np.arange(trees) * per_tree,
        "leaf_value": rng.normal(size=total),
        "tree_weights": np.full(trees, 0.1),
    }
    if classes:
        arrays["leaf_stats"] = rng.integers(0, 50, size=(total, classes)).astype(float) + 1
    return arrays


def synthetic_model(
    estimator: str, width: int = 20, trees: int = 100, depth: int = 8, seed: int = 0
) -> ModelArtifact:
    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(width)]
    assembler = StageSpec("VectorAssembler", tuple(names), ("features",), {})
    regressor = estimator == "LinearRegression" or estimator.endswith("Regressor")
    kind = "regressor" if regressor else "classifier"
    arrays: dict[str, Any]
    if estimator == "LogisticRegression":
        arrays = {"coefficients": rng.normal(size=(1, width)), "intercepts": rng.normal(size=1)}
    elif estimator == "LinearRegression":
        arrays = {"coefficients": rng.normal(size=width), "intercept": rng.normal(size=1)}
    elif estimator.startswith("DecisionTree"):
        arrays = _complete_trees(rng, 1, depth, width, 2 if kind == "classifier" else 0)
    elif estimator.startswith("GBT"):
        arrays = _complete_trees(rng, trees, depth, width, 0)
    else:
        arrays = _complete_trees(rng, trees, depth, width, 2 if kind == "classifier" else 0)
    model = StageSpec(estimator, ("features",), ("prediction",), {}, arrays)
    return ModelArtifact(
        name=f"synthetic-{estimator}",
        version="1",
        kind=kind,  # type: ignore[arg-type]
        features=tuple(FeatureSpec(n, "numeric") for n in names),
        stages=(assembler, model),
        labels=("0", "1") if kind == "classifier" else None,
        golden=(),
    )
