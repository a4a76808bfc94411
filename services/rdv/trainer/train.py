"""Train a Spark ML pipeline, evaluate it on a held-out set, gate it, export and register it."""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import rdv
from rdv.messages import Features
from rdv.model import Prediction, Scorer
from rdv.model.registry import Entry, Registry
from rdv.trainer import gates, held_out
from rdv.trainer.config import TrainConfig
from rdv.trainer.export import export_pipeline
from rdv.trainer.sources import archive_with_feedback


@dataclass
class Outcome:
    config: TrainConfig
    rows: dict[str, int]
    metrics: dict[str, float]
    params: dict[str, Any]
    iterations: int | None
    report: list[gates.Gate] = field(default_factory=list)
    entry: Entry | None = None


def _estimator(config: TrainConfig) -> Any:
    from pyspark.ml import classification as c
    from pyspark.ml import regression as r

    kinds = {
        "logistic_regression": c.LogisticRegression,
        "decision_tree": c.DecisionTreeClassifier,
        "random_forest": c.RandomForestClassifier,
        "gbt": c.GBTClassifier,
        "linear_regression": r.LinearRegression,
        "decision_tree_regressor": r.DecisionTreeRegressor,
        "random_forest_regressor": r.RandomForestRegressor,
        "gbt_regressor": r.GBTRegressor,
    }
    return kinds[config.estimator](labelCol="y", featuresCol="features")


def _pipeline(config: TrainConfig, estimator: Any) -> Any:
    from pyspark.ml import Pipeline
    from pyspark.ml.feature import (
        Imputer,
        OneHotEncoder,
        StandardScaler,
        StringIndexer,
        VectorAssembler,
    )

    cats = config.categorical
    stages: list[Any] = []
    if cats:
        stages += [
            StringIndexer(
                inputCols=cats, outputCols=[f"{c}_idx" for c in cats], handleInvalid="keep"
            ),
            OneHotEncoder(
                inputCols=[f"{c}_idx" for c in cats], outputCols=[f"{c}_vec" for c in cats]
            ),
        ]
    stages.append(
        Imputer(
            inputCols=config.numeric,
            outputCols=[f"{n}_filled" for n in config.numeric],
            strategy="median",
        )
    )
    inputs = [f"{n}_filled" for n in config.numeric] + [f"{c}_vec" for c in cats]
    scaled = config.estimator in ("logistic_regression", "linear_regression")
    stages.append(VectorAssembler(inputCols=inputs, outputCol="raw" if scaled else "features"))
    if scaled:
        stages.append(StandardScaler(inputCol="raw", outputCol="features"))
    return Pipeline(stages=[*stages, estimator])


def load_data(spark: Any, config: TrainConfig) -> tuple[Any, int, int, dict[str, Any]]:
    """Clean rows with a numeric label `y`, and counts of all rows and of broken ones: a
    missing or unknown label, or a number that does not parse (counted, never dropped
    silently)."""
    from pyspark.sql import functions as f

    extra_bad, source = 0, dict[str, Any]()
    if config.archive is not None and config.feedback is not None:
        frame, source = archive_with_feedback(
            spark, config.archive, config.feedback, config.numeric, config.categorical, config.label
        )
        raw = frame.select(*[f.col(c).cast("string") for c in frame.columns])
        extra_bad = source["undecodable"]
    elif str(config.data).endswith(".parquet"):
        frame = spark.read.parquet(str(config.data))
        raw = frame.select(*[f.col(c).cast("string") for c in frame.columns])
    else:
        raw = spark.read.option("header", True).csv(str(config.data))
    total = raw.count() + extra_bad
    typed = raw.select(
        # try_cast: Spark 4 (ANSI) raises on a malformed number; a broken row is counted.
        *[f.col(n).try_cast("double").alias(n) for n in config.numeric],
        *[f.col(c) for c in config.categorical],
        f.col(config.label).alias("label_text"),
        *[f.col(n).alias(f"{n}_text") for n in config.numeric],
    )
    broken = f.col("label_text").isNull()
    for n in config.numeric:
        broken = broken | (f.col(f"{n}_text").isNotNull() & f.col(n).isNull())
    if config.regression:
        broken = broken | f.col("label_text").try_cast("double").isNull()
        target = f.col("label_text").try_cast("double")
    else:
        target = (f.col("label_text") == f.lit(config.positive)).cast("double")
    clean = typed.filter(~broken).withColumn("y", target)
    bad = total - clean.count()
    return clean.drop(*[f"{n}_text" for n in config.numeric]), total, bad, source


def train(spark: Any, config: TrainConfig) -> Outcome:
    from pyspark.ml.evaluation import BinaryClassificationEvaluator, RegressionEvaluator
    from pyspark.ml.tuning import CrossValidator, ParamGridBuilder

    data, total, bad, source = load_data(spark, config)
    # The held-out set is split off before anything is tuned on the rest.
    train_set, test_set = data.randomSplit(
        [1 - config.test_fraction, config.test_fraction], seed=config.seed
    )
    train_set, test_set = train_set.cache(), test_set.cache()
    estimator = _estimator(config)
    grid = ParamGridBuilder()
    for name, values in config.grid.items():
        grid = grid.addGrid(estimator.getParam(name), values)
    search = CrossValidator(
        estimator=_pipeline(config, estimator),
        estimatorParamMaps=grid.build(),
        numFolds=config.folds,
        evaluator=RegressionEvaluator(labelCol="y", metricName="rmse")
        if config.regression
        else BinaryClassificationEvaluator(labelCol="y"),
        seed=config.seed,
        parallelism=1,
    )
    best: Any = search.fit(train_set).bestModel
    fitted = best.stages[-1]
    scored = best.transform(test_set)
    if config.regression:
        labels = None
        metrics, tested = held_out.regressor_metrics(scored)
    else:
        values = sorted({r[0] for r in data.select("label_text").distinct().collect()})
        positive = str(config.positive)
        labels = [next((v for v in values if v != positive), "not " + positive), positive]
        metrics, tested = held_out.classifier_metrics(scored)
    iterations = (
        getattr(getattr(fitted, "summary", None), "totalIterations", None)
        if config.estimator in ("logistic_regression", "linear_regression")
        else None
    )
    params = {
        param.name: value
        for param, value in fitted.extractParamMap().items()
        if param.name in config.grid
    }
    outcome = Outcome(
        config,
        {"total": total, "bad": bad, "train": train_set.count(), "test": tested},
        metrics,
        params,
        iterations,
    )
    with tempfile.TemporaryDirectory() as tmp:
        features = [*config.numeric, *config.categorical]
        exported = export_pipeline(
            best,
            test_set.select(*features),
            Path(tmp) / "artifact",
            config.name,
            config.version,
            labels=labels,
        )
        _gate(outcome, exported, test_set)
        if not all(g.passed for g in outcome.report):
            return outcome
        registry = Registry(config.registry)
        best.write().overwrite().save(str(Path(tmp) / "spark-model"))
        outcome.entry = registry.register(
            exported,
            {
                "metrics": metrics,
                "params": params,
                "iterations": iterations,
                "rows": outcome.rows,
                "registered_at": time.time(),
                "lineage": {
                    "data": str(config.data or config.archive),
                    "feedback": str(config.feedback) if config.feedback else None,
                    "archive_rows": source,
                    "estimator": config.estimator,
                    "spark": spark.version,
                    "rendezvous": rdv.__version__,
                    "code_revision": _revision(),
                },
                "gates": [vars(g) for g in outcome.report],
            },
            spark_model=Path(tmp) / "spark-model",
        )
    return outcome


def _gate(outcome: Outcome, exported: Path, test_set: Any) -> None:
    from rdv.model import load_artifact

    config = outcome.config
    registry = Registry(config.registry)
    previous = registry.latest(config.name)
    champion: Entry | None = None
    if "champion" in registry.aliases():
        entry = registry.get("champion")
        champion = entry if entry.model_id.startswith(config.name + "@") else None
    # The champion scores the test set on the executors: the driver never holds it.
    champion_metric = (
        held_out.champion_metric(
            test_set,
            champion.path / "artifact",
            config.numeric,
            config.categorical,
            config.regression,
        )
        if champion
        else None
    )
    margin = config.gates.metric_margin
    held_out_gate = (
        gates.held_out_rmse(outcome.metrics["rmse"], champion_metric, margin)
        if config.regression
        else gates.held_out(outcome.metrics["auc"], champion_metric, margin)
    )
    candidate = Scorer(load_artifact(exported))
    incumbent = Scorer(champion.artifact) if champion else None
    replay = _replayed(config.gates.replay, config) if config.gates.replay else []
    outcome.report = [
        gates.bad_records(outcome.rows["bad"], outcome.rows["total"], config.gates.max_bad_share),
        gates.iterations(
            outcome.iterations,
            previous.info.get("iterations") if previous else None,
            config.gates.iteration_band,
        ),
        held_out_gate,
        gates.shadow_replay(
            _scores(candidate, replay) if replay else None,
            _scores(incumbent, replay) if incumbent and replay else None,
            config.gates.max_psi,
        ),
    ]


def _scores(scorer: Scorer | None, rows: list[Features]) -> np.ndarray:
    assert scorer is not None
    return np.array([r.score if isinstance(r, Prediction) else np.nan for r in scorer.score(rows)])


def _replayed(archive: Path, config: TrainConfig) -> list[Features]:
    import pyarrow.parquet as pq

    rows: list[Features] = []
    for file in sorted(archive.rglob("*.parquet")):
        for r in pq.read_table(file, columns=["undecodable", "numeric", "categorical"]).to_pylist():
            if not r["undecodable"]:
                rows.append({"numeric": dict(r["numeric"]), "categorical": dict(r["categorical"])})
    return rows


def _revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
