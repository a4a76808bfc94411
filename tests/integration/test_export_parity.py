"""Spark-trained pipelines of every estimator kind, exported and scored with numpy: the same
predictions as Spark and probabilities within 1e-9, on Spark's own golden vectors."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from rdv.model import Scorer, load_artifact
from rdv.trainer.export import export_pipeline

# Training checks no timing: it runs in the first part of `make test`, beside others.
pytestmark = pytest.mark.parallel


def login_rows(count: int = 400, seed: int = 3) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        bot = rng.random() < 0.3
        logins = float(rng.randint(3, 15) if bot else rng.randint(0, 4))
        age = None if rng.random() < 0.1 else round(rng.expovariate(1 / (5 if bot else 400)), 1)
        country = rng.choice(["US", "FR", "DE", "BR"])
        device = rng.choice(["mobile", "desktop", "tablet"])
        label = float(bot) if rng.random() > 0.05 else float(not bot)
        rows.append(
            (
                logins,
                age,
                country,
                device,
                label,
                float(rng.randint(0, 2)),
                logins * 3.0 + rng.gauss(0, 1),
            )
        )
    return rows


SCHEMA = (
    "failed_logins double, account_age_days double, country string, device string, "
    "label double, kind double, value double"
)


def pipeline(estimator: Any, scale: bool = True, one_hot: bool = True) -> Any:
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import (
        Imputer,
        OneHotEncoder,
        StandardScaler,
        StringIndexer,
        VectorAssembler,
    )

    categorical = ["country_vec", "device_vec"] if one_hot else ["country_idx", "device_idx"]
    stages = [
        StringIndexer(
            inputCols=["country", "device"],
            outputCols=["country_idx", "device_idx"],
            handleInvalid="keep",
        ),
        Imputer(inputCols=["account_age_days"], outputCols=["age_filled"], strategy="median"),
    ]
    if one_hot:
        stages.append(
            OneHotEncoder(
                inputCols=["country_idx", "device_idx"], outputCols=["country_vec", "device_vec"]
            )
        )
    stages.append(
        VectorAssembler(
            inputCols=["failed_logins", "age_filled", *categorical],
            outputCol="raw" if scale else "features",
        )
    )
    if scale:
        stages.append(StandardScaler(inputCol="raw", outputCol="features", withMean=True))
    return Pipeline(stages=[*stages, estimator])


def estimator(name: str) -> tuple[Any, dict[str, bool]]:
    from pyspark.ml import classification as c
    from pyspark.ml import regression as r

    return {
        "logistic-binomial": (c.LogisticRegression(threshold=0.4), {}),
        "logistic-multinomial": (c.LogisticRegression(labelCol="kind", family="multinomial"), {}),
        "linear": (r.LinearRegression(labelCol="value"), {}),
        "tree-classifier": (c.DecisionTreeClassifier(maxDepth=5), {"scale": False}),
        "tree-categorical": (
            c.DecisionTreeClassifier(maxDepth=5),
            {"scale": False, "one_hot": False},
        ),
        "tree-regressor": (r.DecisionTreeRegressor(labelCol="value", maxDepth=4), {}),
        "forest-classifier": (
            c.RandomForestClassifier(numTrees=15, maxDepth=4, seed=1),
            {"one_hot": False, "scale": False},
        ),
        "forest-regressor": (
            r.RandomForestRegressor(labelCol="value", numTrees=10, maxDepth=4, seed=1),
            {},
        ),
        "gbt-classifier": (c.GBTClassifier(maxIter=8, maxDepth=3, seed=1), {"scale": False}),
        "gbt-regressor": (r.GBTRegressor(labelCol="value", maxIter=8, maxDepth=3, seed=1), {}),
    }[name]


KINDS = [
    "logistic-binomial",
    "logistic-multinomial",
    "linear",
    "tree-classifier",
    "tree-categorical",
    "tree-regressor",
    "forest-classifier",
    "forest-regressor",
    "gbt-classifier",
    "gbt-regressor",
]


@pytest.mark.parametrize("name", KINDS)
def test_numpy_scores_like_spark(spark: Any, tmp_path: Path, name: str) -> None:
    model_estimator, shape = estimator(name)
    data = spark.createDataFrame(login_rows(), SCHEMA)
    model = pipeline(model_estimator, **shape).fit(data)
    # One row with categories never seen in training and a missing age.
    unseen = spark.createDataFrame([(20.0, None, "JP", "watch", 1.0, 0.0, 1.0)], SCHEMA)
    directory = export_pipeline(model, data.union(unseen), tmp_path / name, name, "1")
    artifact = load_artifact(directory)
    assert len(artifact.golden) == 401
    assert Scorer(artifact).golden_mismatches(tolerance=1e-9) == []
    if name == "tree-categorical":  # the tree split on indexed categories, not one-hot columns
        assert artifact.stages[-1].arrays["split_categorical"].any()
