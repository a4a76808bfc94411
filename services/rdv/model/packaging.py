"""Artifacts from models made elsewhere: an ONNX file or a Python class, with its features,
labels and golden rows, in the same directory format as a Spark export.

Golden rows are what the model gave where it was made (scikit-learn's predict_proba, say):
packaging checks them against this runtime now, and every worker checks them again when it
loads the model, so a model that scores differently in production is refused. Rows given
without outputs are recorded with the outputs this runtime gives them: they still catch a
worker whose libraries score differently from the machine the model was registered on.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, cast

from rdv.codec.json_input import split_features
from rdv.errors import ConfigError, DecodeError
from rdv.messages import Features
from rdv.model.artifact import (
    KINDS,
    ArtifactError,
    FeatureSpec,
    GoldenRow,
    ModelArtifact,
    load_artifact,
    save_artifact,
)
from rdv.model.scorer import Prediction, Scorer

FLOAT32 = 1e-5  # what float32 graphs and other libraries agree with their source to


def parse_features(text: str) -> tuple[FeatureSpec, ...]:
    """`age:numeric,country:categorical` (a bare name is numeric)."""
    features = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, kind = part.partition(":")
        kind = kind or "numeric"
        if kind not in ("numeric", "categorical"):
            raise ConfigError(
                f"feature {name!r}: type must be numeric or categorical, not {kind!r}"
            )
        features.append(FeatureSpec(name, kind))  # type: ignore[arg-type]
    if not features:
        raise ConfigError("--features names no feature: give e.g. age:numeric,country:categorical")
    return tuple(features)


def read_golden(path: Path) -> list[GoldenRow | dict[str, Any]]:
    """JSON lines of {"features": {...}, "prediction": p, "probability": [...]}; the outputs
    may be left out (a bare features row), to be recorded from this runtime."""
    rows: list[GoldenRow | dict[str, Any]] = []
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ConfigError(f"--golden {path}: {exc.strerror}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            features = split_features(raw["features"])
        except (json.JSONDecodeError, KeyError, TypeError, DecodeError) as exc:
            raise ConfigError(f"--golden {path} line {number}: not a golden row ({exc})") from exc
        if raw.get("prediction") is None:
            rows.append(features)
        else:
            probability = raw.get("probability")
            rows.append(
                GoldenRow(
                    features["numeric"],
                    features["categorical"],
                    float(raw["prediction"]),
                    tuple(float(p) for p in probability) if probability else None,
                )
            )
    return rows


def package_model(
    runtime: Literal["onnx", "python"],
    source: Path,
    *,
    name: str,
    version: str,
    kind: str,
    features: tuple[FeatureSpec, ...],
    directory: Path,
    labels: tuple[str, ...] | None = None,
    golden: list[GoldenRow | dict[str, Any]] | None = None,
    class_name: str = "Model",
    extra_files: tuple[Path, ...] = (),
    tolerance: float = FLOAT32,
) -> ModelArtifact:
    """Write the artifact to `directory`; ArtifactError if the model does not load or does
    not reproduce the golden rows it came with."""
    if kind not in KINDS:
        raise ConfigError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if directory.exists():
        raise ArtifactError(f"{directory} exists; versions are never overwritten")
    if not source.is_file():
        raise ConfigError(f"{source}: no such model file")
    own = "model.onnx" if runtime == "onnx" else "model.py"
    files = {own: source, **{extra.name: extra for extra in extra_files}}
    spec: dict[str, Any] = {"type": runtime, "file": own}
    if runtime == "python":
        spec["class"] = class_name
    draft = ModelArtifact(
        name,
        version,
        cast(Literal["classifier", "regressor"], kind),
        features,
        (),
        labels,
        (),
        metadata={"source": source.name, "runtime": runtime},
        runtime=spec,
        golden_tolerance=tolerance,
    )
    rows = golden or []
    with tempfile.TemporaryDirectory(prefix="rdv-package-") as scratch:
        trial = Path(scratch) / "a"
        try:
            made = _golden(Scorer(load_artifact(save_artifact(draft, trial, files))), rows)
        except ArtifactError as exc:  # name the user's file, not the scratch copy
            raise ArtifactError(str(exc).replace(str(trial / own), str(source))) from exc
    artifact = replace(draft, golden=tuple(made))
    staging = directory.with_name(directory.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    save_artifact(artifact, staging, files)
    problems = Scorer(load_artifact(staging)).golden_mismatches()
    if problems:
        shutil.rmtree(staging, ignore_errors=True)
        raise ArtifactError(
            f"{artifact.model_id} does not reproduce its golden rows within {tolerance}: "
            + "; ".join(problems[:3])
        )
    staging.rename(directory)
    return load_artifact(directory)


def _golden(scorer: Scorer, rows: list[GoldenRow | dict[str, Any]]) -> list[GoldenRow]:
    inputs = [
        cast(Features, {"numeric": r.numeric, "categorical": r.categorical})
        if isinstance(r, GoldenRow)
        else cast(Features, r)
        for r in rows
    ]
    made = []
    for row, got in zip(rows, scorer.score(inputs), strict=True):
        if isinstance(row, GoldenRow):
            made.append(row)
        elif isinstance(got, Prediction) and math.isfinite(got.prediction):
            made.append(
                GoldenRow(row["numeric"], row["categorical"], got.prediction, got.probabilities)
            )
        else:
            made.append(GoldenRow(row["numeric"], row["categorical"], None))
    return made
