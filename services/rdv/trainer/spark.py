"""The Spark session of the training commands."""

from __future__ import annotations

from typing import Any


def quiet_spark(master: str, app: str) -> Any:
    """A quiet SparkSession (no UI, errors only) for the commands that run Spark."""
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark
