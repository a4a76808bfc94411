"""`rdv score-batch`: score a file or the decoy archive on Spark with a registered model's
fitted pipeline (architecture A: precompute), writing Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rdv.errors import ConfigError
from rdv.model.registry import Entry


def score_batch(
    spark: Any, entry: Entry, out: Path, csv: Path | None = None, archive: Path | None = None
) -> int:
    from pyspark.ml import PipelineModel
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as f

    model_dir = entry.path / "spark-model"
    if not model_dir.exists():
        raise ConfigError(
            f"{entry.model_id} has no fitted Spark pipeline in the registry "
            "(only models trained by `rdv train` do)"
        )
    features = entry.artifact.features
    numeric = [x.name for x in features if x.type == "numeric"]
    categorical = [x.name for x in features if x.type == "categorical"]
    if (csv is None) == (archive is None):
        raise ConfigError("give --input FILE.csv or --archive DIR")
    if csv is not None:
        raw = spark.read.option("header", True).csv(str(csv))
        rows = raw.select(
            *[c for c in raw.columns if c not in numeric],
            *[f.col(n).try_cast("double").alias(n) for n in numeric],
        )
    else:
        raw = (
            spark.read.parquet(str(archive))
            .dropDuplicates(["dedupe_key"])
            .filter(~f.col("undecodable"))
        )
        rows = raw.select(
            "request_id",
            *[f.col("numeric").getItem(n).alias(n) for n in numeric],
            *[f.col("categorical").getItem(c).alias(c) for c in categorical],
        )
    model = PipelineModel.load(str(model_dir))
    scored = model.transform(rows)
    if "probability" in scored.columns:
        # A classifier's score is P(class 1), as the workers give it. vector_to_array runs in
        # the JVM: a Python UDF would need numpy in Spark's workers.
        score = vector_to_array(f.col("probability")).getItem(1).alias("score")
    else:  # a regressor's score is its prediction
        score = f.col("prediction").alias("score")
    result = scored.select(*rows.columns, "prediction", score)
    result.write.mode("overwrite").parquet(str(out))
    return int(result.count())
