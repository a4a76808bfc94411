"""Export a fitted Spark PipelineModel to the portable artifact, stage by stage, reading the
fitted Spark objects (nothing is re-fitted in numpy), with golden vectors computed by Spark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rdv.errors import ConfigError
from rdv.model.artifact import FeatureSpec, GoldenRow, ModelArtifact, StageSpec, save_artifact
from rdv.trainer.trees import flatten

TREE_MODELS = {
    "DecisionTreeClassificationModel": ("DecisionTreeClassifier", True),
    "DecisionTreeRegressionModel": ("DecisionTreeRegressor", False),
    "RandomForestClassificationModel": ("RandomForestClassifier", True),
    "RandomForestRegressionModel": ("RandomForestRegressor", False),
    "GBTClassificationModel": ("GBTClassifier", False),
    "GBTRegressionModel": ("GBTRegressor", False),
}
NUMERIC_TYPES = {"double", "float", "int", "bigint", "smallint", "tinyint", "decimal"}


def _cols(stage: Any, many: str, one: str) -> list[str]:
    if stage.isSet(many):
        return list(stage.getOrDefault(many))
    return [stage.getOrDefault(one)]


def stage_spec(stage: Any) -> StageSpec:
    kind = type(stage).__name__
    if kind == "StringIndexerModel":
        return StageSpec.of(
            "StringIndexer",
            _cols(stage, "inputCols", "inputCol"),
            _cols(stage, "outputCols", "outputCol"),
            {
                "labels": [list(x) for x in stage.labelsArray],
                "handleInvalid": stage.getHandleInvalid(),
            },
        )
    if kind == "OneHotEncoderModel":
        return StageSpec.of(
            "OneHotEncoder",
            _cols(stage, "inputCols", "inputCol"),
            _cols(stage, "outputCols", "outputCol"),
            {
                "categorySizes": list(stage.categorySizes),
                "dropLast": stage.getDropLast(),
                "handleInvalid": stage.getHandleInvalid(),
            },
        )
    if kind == "VectorAssembler":
        return StageSpec.of(
            "VectorAssembler",
            stage.getInputCols(),
            [stage.getOutputCol()],
            {"handleInvalid": stage.getHandleInvalid()},
        )
    if kind == "StandardScalerModel":
        return StageSpec.of(
            "StandardScaler",
            [stage.getInputCol()],
            [stage.getOutputCol()],
            {"withMean": stage.getWithMean(), "withStd": stage.getWithStd()},
            mean=stage.mean.toArray(),
            std=stage.std.toArray(),
        )
    if kind == "ImputerModel":
        inputs = _cols(stage, "inputCols", "inputCol")
        row = stage.surrogateDF.collect()[0]
        return StageSpec.of(
            "Imputer",
            inputs,
            _cols(stage, "outputCols", "outputCol"),
            {"missingValue": float(stage.getMissingValue()), "strategy": stage.getStrategy()},
            surrogates=[float(row[c]) for c in inputs],
        )
    if kind == "LogisticRegressionModel":
        coefficients = stage.coefficientMatrix.toArray()
        multinomial = stage.numClasses > 2 or coefficients.shape[0] > 1
        params: dict[str, Any] = {"family": "multinomial" if multinomial else "binomial"}
        if not multinomial:
            params["threshold"] = stage.getThreshold()
        return StageSpec.of(
            "LogisticRegression",
            [stage.getFeaturesCol()],
            [stage.getPredictionCol()],
            params,
            coefficients=coefficients,
            intercepts=stage.interceptVector.toArray(),
        )
    if kind == "LinearRegressionModel":
        return StageSpec.of(
            "LinearRegression",
            [stage.getFeaturesCol()],
            [stage.getPredictionCol()],
            {},
            coefficients=stage.coefficients.toArray(),
            intercept=[stage.intercept],
        )
    if kind in TREE_MODELS:
        name, classifier = TREE_MODELS[kind]
        trees = [stage] if name.startswith("DecisionTree") else list(stage.trees)
        weights = [1.0] if name.startswith("DecisionTree") else list(stage.treeWeights)
        return StageSpec(
            name,
            (stage.getFeaturesCol(),),
            (stage.getPredictionCol(),),
            {},
            flatten(trees, weights, classifier),
        )
    raise ConfigError(
        f"cannot export a {kind} stage; supported: StringIndexer, OneHotEncoder, "
        "VectorAssembler, StandardScaler, Imputer, LogisticRegression, "
        "LinearRegression, decision trees, random forests, GBTs"
    )


def _features(stages: list[StageSpec], schema: Any) -> tuple[FeatureSpec, ...]:
    produced = {c for s in stages for c in s.outputs}
    types = {f.name: f.dataType.simpleString() for f in schema.fields}
    features, seen = [], set()
    for stage in stages:
        for column in stage.inputs:
            if column in produced or column in seen:
                continue
            seen.add(column)
            if column not in types:
                raise ConfigError(f"the pipeline reads {column!r}, which the data lacks")
            numeric = types[column].split("(")[0] in NUMERIC_TYPES
            features.append(FeatureSpec(column, "numeric" if numeric else "categorical"))
    return tuple(features)


def export_pipeline(
    model: Any,
    sample: Any,
    directory: Path,
    name: str,
    version: str,
    labels: list[str] | None = None,
    golden_rows: int = 2000,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write `model` (a fitted pyspark.ml.PipelineModel) as an artifact; `sample` is a
    DataFrame of inputs whose outputs Spark computes for the golden vectors."""
    stages = [stage_spec(s) for s in model.stages]
    features = _features(stages, sample.schema)
    kind = (
        "classifier"
        if stages[-1].type
        in (
            "LogisticRegression",
            "DecisionTreeClassifier",
            "RandomForestClassifier",
            "GBTClassifier",
        )
        else "regressor"
    )
    last = model.stages[-1]
    classes = int(getattr(last, "numClasses", 0)) if kind == "classifier" else 0
    golden = _golden(model, sample.limit(golden_rows), features, classifier=classes > 0)
    artifact = ModelArtifact(
        name,
        version,
        kind,  # type: ignore[arg-type]
        features,
        tuple(stages),
        tuple(labels or [str(i) for i in range(classes)]) if classes else None,
        tuple(golden),
        metadata or {},
    )
    return save_artifact(artifact, directory)


def _golden(
    model: Any, sample: Any, features: tuple[FeatureSpec, ...], classifier: bool
) -> list[GoldenRow]:
    last = model.stages[-1]
    out = [last.getPredictionCol()] + (["probability"] if classifier else [])
    names = [f.name for f in features]
    rows = model.transform(sample).select(*names, *out).collect()
    golden = []
    for row in rows:
        numeric = {
            f.name: (None if row[f.name] is None else float(row[f.name]))
            for f in features
            if f.type == "numeric"
        }
        categorical = {f.name: row[f.name] for f in features if f.type == "categorical"}
        probability = (
            tuple(float(p) for p in np.asarray(row["probability"].toArray()))
            if classifier
            else None
        )
        golden.append(GoldenRow(numeric, categorical, float(row[out[0]]), probability))
    return golden
