"""A readable model: linear coefficients by feature name, or a tree as if/else rules."""

from __future__ import annotations

import numpy as np

from rdv.model.artifact import ModelArtifact


def feature_slots(artifact: ModelArtifact) -> list[str]:
    """The name of each slot of the vector the estimator reads, e.g. `country=FR`."""
    names: dict[str, list[str]] = {f.name: [f.name] for f in artifact.features}
    labels: dict[str, list[str]] = {}
    for stage in artifact.stages[:-1]:
        if stage.type == "StringIndexer":
            for k, (source, target) in enumerate(zip(stage.inputs, stage.outputs, strict=True)):
                names[target] = [source]
                labels[target] = [f"{source}={v}" for v in stage.params["labels"][k]]
                if stage.params.get("handleInvalid") == "keep":
                    labels[target].append(f"{source}=<unseen>")
        elif stage.type == "OneHotEncoder":
            keep = stage.params.get("handleInvalid") == "keep"
            for k, (source, target) in enumerate(zip(stage.inputs, stage.outputs, strict=True)):
                size = int(stage.params["categorySizes"][k]) + (1 if keep else 0)
                slots = labels.get(source, [f"{source}={i}" for i in range(size)])[:size]
                slots += [f"{source}={i}" for i in range(len(slots), size)]
                names[target] = slots[:-1] if stage.params.get("dropLast", True) else slots
        elif stage.type == "VectorAssembler":
            names[stage.outputs[0]] = [n for c in stage.inputs for n in names.get(c, [c])]
        else:  # Imputer, StandardScaler: same slots under a new column name
            for source, target in zip(stage.inputs, stage.outputs, strict=True):
                names[target] = names.get(source, [source])
    return names.get(artifact.stages[-1].inputs[0], [])


def _external(artifact: ModelArtifact) -> str:
    """An ONNX graph or a Python class cannot be read back as rules: what it takes and gives."""
    runtime = artifact.runtime
    what = f"class {runtime.get('class')} in " if artifact.runtime_type == "python" else ""
    features = ", ".join(f"{f.name} ({f.type})" for f in artifact.features)
    return "\n".join(
        [
            f"{artifact.model_id}: {artifact.runtime_type} model ({artifact.kind}), "
            f"{what}{runtime.get('file')}",
            f"features: {features}",
            f"labels: {', '.join(artifact.labels) if artifact.labels else '-'}",
            f"golden rows: {len(artifact.golden)} (tolerance {artifact.golden_tolerance:g})",
        ]
    )


def describe(artifact: ModelArtifact, node_budget: int = 40) -> str:
    if artifact.runtime_type != "stages":
        return _external(artifact)
    estimator = artifact.stages[-1]
    slots = feature_slots(artifact)
    lines = [f"{artifact.model_id}: {estimator.type} ({artifact.kind})"]
    if estimator.type in ("LogisticRegression", "LinearRegression"):
        coefficients = np.atleast_2d(estimator.arrays["coefficients"])
        intercepts = np.ravel(
            estimator.arrays.get("intercepts", estimator.arrays.get("intercept", [0.0]))
        )
        for row, intercept in zip(coefficients, intercepts, strict=True):
            lines.append(f"  intercept {intercept:+.4f}")
            for name, weight in sorted(zip(slots, row, strict=True), key=lambda p: -abs(p[1])):
                lines.append(f"  {weight:+.4f}  {name}")
        return "\n".join(lines)
    a = estimator.arrays
    shown = 0
    for t, root in enumerate(np.ravel(a["roots"])):
        lines.append(f"  tree {t} (weight {float(np.ravel(a['tree_weights'])[t]):g}):")
        stack: list[tuple[int, int, bool]] = [(int(root), 2, False)]
        while stack and shown < node_budget:
            node, depth, otherwise = stack.pop()
            shown += 1
            pad = " " * depth
            if otherwise:
                lines.append(f"{pad[:-2]}else:")
            if a["left"][node] < 0:
                stats = a.get("leaf_stats")
                value = (
                    "class counts " + ", ".join(f"{v:g}" for v in stats[node])
                    if stats is not None
                    else f"value {a['leaf_value'][node]:.4f}"
                )
                lines.append(f"{pad}predict {value}")
                continue
            name = (
                slots[a["feature"][node]]
                if a["feature"][node] < len(slots)
                else f"x{a['feature'][node]}"
            )
            if a["split_categorical"][node]:
                cats = ", ".join(str(int(c)) for c in np.flatnonzero(a["category_left"][node]))
                test = f"{name} in {{{cats}}}"
            else:
                test = f"{name} <= {a['threshold'][node]:.4g}"
            lines.append(f"{pad}if {test}:")
            stack.append((int(a["right"][node]), depth + 2, True))
            stack.append((int(a["left"][node]), depth + 2, False))
        if shown >= node_budget:
            lines.append(f"  ... (node budget of {node_budget} reached)")
            break
    return "\n".join(lines)
