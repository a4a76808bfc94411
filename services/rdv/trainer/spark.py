"""The Spark session of the training commands."""

from __future__ import annotations

import os
import sys
from typing import Any


def quiet_spark(master: str, app: str, java_options: list[str] | None = None) -> Any:
    """A quiet SparkSession (no UI, errors only) for the commands that run Spark.
    `java_options` go to the driver's JVM before any the user gives it (Spark prepends its
    `defaultJavaOptions` to `extraJavaOptions`), so that the user's win."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if java_options:
        builder = builder.config("spark.driver.defaultJavaOptions", " ".join(java_options))
    # Executors score with the project's code (the champion on the held-out set): on this
    # machine's workers, this interpreter has it; on other machines, set PYSPARK_PYTHON. The
    # SparkContext reads the variable itself (a builder option would come too late).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
