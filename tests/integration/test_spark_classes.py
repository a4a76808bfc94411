"""Spark's driver classes archived by the first session on a machine and mapped by the next
(rdv_tools.spark_classes): real PySpark, a cache of the test's own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.parallel

SESSION = """
from pathlib import Path
from pyspark import SparkContext
from rdv_tools.spark_classes import SparkClasses, spark_session

with spark_session("local[1]", "rdv-classes-test", lambda _: print("archiving")) as spark:
    assert spark.range(100).count() == 100
    pid = SparkContext._gateway.proc.pid
    maps = Path(f"/proc/{pid}/maps").read_text()
    print("mapped" if str(SparkClasses().archive) in maps else "not mapped")
print("archive" if SparkClasses().archive.is_file() else "no archive")
"""


def _session(cache: Path) -> list[str]:
    env = {**os.environ, "RDV_CACHE": str(cache), "PYSPARK_PYTHON": sys.executable}
    done = subprocess.run(
        [sys.executable, "-c", SESSION],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.split()


def test_the_first_session_writes_the_archive_and_the_next_maps_it(tmp_path: Path) -> None:
    # The first stop says why it takes longer: it waits for the JVM to write the archive.
    assert _session(tmp_path) == ["not", "mapped", "archiving", "archive"]
    assert _session(tmp_path) == ["mapped", "archive"]
    # What the first JVM wrote is the only file left: no partial, one archive.
    files = sorted(p.name for p in tmp_path.glob("spark-*/*") if not p.name.startswith("."))
    assert len(files) == 1 and files[0].endswith(".jsa"), files
