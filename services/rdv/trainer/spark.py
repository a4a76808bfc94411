"""The Spark session of the training commands."""

from __future__ import annotations

import os
import sys
from typing import Any


def quiet_spark(master: str, app: str) -> Any:
    """A quiet SparkSession (no UI, errors only) for the commands that run Spark."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    # Executors score with the project's code (the champion on the held-out set): on this
    # machine's workers, this interpreter has it; on other machines, set PYSPARK_PYTHON. The
    # SparkContext reads the variable itself (a builder option would come too late).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
