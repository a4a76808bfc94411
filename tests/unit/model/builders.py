"""Small hand-made artifacts whose outputs can be worked out on paper."""

from __future__ import annotations

from typing import Any

import numpy as np

from rdv.model.artifact import FeatureSpec, GoldenRow, ModelArtifact, StageSpec

stage = StageSpec.of


def artifact(
    stages: list[StageSpec],
    numeric: list[str] = (),
    categorical: list[str] = (),  # type: ignore[assignment]
    kind: str = "classifier",
    labels: list[str] | None = None,
    golden: list[GoldenRow] = (),
    name: str = "m",
    version: str = "1",
) -> ModelArtifact:  # type: ignore[assignment]
    features = tuple(
        [FeatureSpec(n, "numeric") for n in numeric]
        + [FeatureSpec(c, "categorical") for c in categorical]
    )
    return ModelArtifact(
        name,
        version,
        kind,
        features,
        tuple(stages),  # type: ignore[arg-type]
        tuple(labels) if labels else None,
        tuple(golden),
    )


def assembled(numeric: list[str]) -> StageSpec:
    return stage("VectorAssembler", numeric, ["features"])


def tree(
    kind: str,
    nodes: list[dict[str, Any]],
    roots: list[int],
    weights: list[float] | None = None,
    classes: int = 0,
    categories: int = 0,
) -> StageSpec:
    """Nodes as dicts: leaves {"value": v} or {"stats": [...]}, splits {"feature": f,
    "threshold": t, "left": i, "right": j} or {"feature": f, "left_categories": [...], ...}."""
    n = len(nodes)
    arrays: dict[str, Any] = {
        "feature": [d.get("feature", -1) for d in nodes],
        "threshold": [d.get("threshold", 0.0) for d in nodes],
        "left": [d.get("left", -1) for d in nodes],
        "right": [d.get("right", -1) for d in nodes],
        "leaf_value": [d.get("value", 0.0) for d in nodes],
        "roots": roots,
        "tree_weights": weights or [1.0] * len(roots),
        "split_categorical": [int("left_categories" in d) for d in nodes],
    }
    if categories:
        table = np.zeros((n, categories))
        for i, d in enumerate(nodes):
            for c in d.get("left_categories", []):
                table[i, c] = 1
        arrays["category_left"] = table
    if classes:
        arrays["leaf_stats"] = [d.get("stats", [0.0] * classes) for d in nodes]
    return stage(kind, ["features"], ["prediction"], {}, **arrays)


def one_hot_of_three(mode: str, drop_last: bool) -> tuple[StageSpec, int]:
    """A OneHotEncoder of `idx` (3 categories) into `vec`, and the width of `vec`."""
    spec = stage(
        "OneHotEncoder",
        ["idx"],
        ["vec"],
        {"categorySizes": [3], "dropLast": drop_last, "handleInvalid": mode},
    )
    return spec, 3 + (mode == "keep") - drop_last
