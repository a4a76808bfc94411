"""Held-out metrics computed where the data is: Spark's evaluators and aggregations run on the
executors, and the driver receives numbers, never the test set. The champion scores the same
rows on the executors too (its artifact must be on a path every executor sees, as the
registry is), so a Spark cluster trains on data no single machine holds."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

SCORE_SCHEMA = "y double, score double"
SCORE_CHUNK = 1024  # rows per scoring call: numpy's fixed cost per call, paid rarely


def classifier_metrics(scored: Any) -> tuple[dict[str, float], int]:
    """AUC, log loss and accuracy of `scored` (columns y and probability), and its row count."""
    from pyspark.ml.evaluation import BinaryClassificationEvaluator
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as f

    # numBins 0: the exact ROC over every distinct score, not a 1,000-bin approximation.
    auc = BinaryClassificationEvaluator(
        labelCol="y", rawPredictionCol="probability", numBins=0
    ).evaluate(scored)
    p = vector_to_array(f.col("probability"))[1]
    clipped = f.least(f.greatest(p, f.lit(1e-15)), f.lit(1 - 1e-15))
    y = f.col("y")
    row = scored.select(
        f.avg(-(y * f.log(clipped) + (1 - y) * f.log(1 - clipped))).alias("log_loss"),
        f.avg(((p > 0.5) == (y == 1)).cast("double")).alias("accuracy"),
        f.count(f.lit(1)).alias("rows"),
    ).first()
    metrics = {"auc": float(auc), "log_loss": float(row["log_loss"]), "accuracy": row["accuracy"]}
    return {k: float(v) for k, v in metrics.items()}, int(row["rows"])


def regressor_metrics(scored: Any, prediction: str = "prediction") -> tuple[dict[str, float], int]:
    """RMSE, MAE and R² of `scored` (columns y and `prediction`), and its row count."""
    from pyspark.ml.evaluation import RegressionEvaluator

    metrics = {
        name: float(
            RegressionEvaluator(labelCol="y", predictionCol=prediction, metricName=name).evaluate(
                scored
            )
        )
        for name in ("rmse", "mae", "r2")
    }
    return metrics, scored.count()


def champion_metric(
    test_set: Any, artifact: Path, numeric: list[str], categorical: list[str], regression: bool
) -> float:
    """The champion's held-out RMSE (a regressor) or AUC (a classifier) on `test_set`."""
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    scored = _champion_scores(test_set, artifact, numeric, categorical)
    if regression:
        return regressor_metrics(scored, prediction="score")[0]["rmse"]
    return float(
        BinaryClassificationEvaluator(labelCol="y", rawPredictionCol="score", numBins=0).evaluate(
            scored
        )
    )


def _champion_scores(
    test_set: Any, artifact: Path, numeric: list[str], categorical: list[str]
) -> Any:
    """(y, score) of every test row the champion scores; rows it refuses (an error score) are
    left out. Scored on the executors, a partition at a time in chunks (the RDD path: Spark's
    Arrow and pandas functions would need pandas on every executor)."""
    location = str(artifact)

    def score(rows: Iterator[Any]) -> Iterator[tuple[float, float]]:
        from rdv.messages import Features
        from rdv.model import Prediction, Scorer, load_artifact

        scorer = Scorer(load_artifact(Path(location)))
        while chunk := list(islice(rows, SCORE_CHUNK)):
            features: list[Features] = [
                {
                    "numeric": {n: r[n] for n in numeric},
                    "categorical": {c: r[c] for c in categorical},
                }
                for r in chunk
            ]
            for r, result in zip(chunk, scorer.score(features), strict=True):
                if isinstance(result, Prediction):
                    yield float(r["y"]), float(result.score)

    rows = test_set.select(*numeric, *categorical, "y").rdd.mapPartitions(score)
    return test_set.sparkSession.createDataFrame(rows, SCORE_SCHEMA)
