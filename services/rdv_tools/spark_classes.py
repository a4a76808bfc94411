"""Spark's driver classes archived once, as the broker's are (rdv_tools.broker.class_archive).

A local Spark session started here in 11-12 s and ran its first small jobs in ~10 s; with
the archive mapped, 7 s and 6.5 s (docs/performance.md, "A broker's start"). No separate
step makes it: the first session on a machine (under a lock, one process at a time) has its
JVM write the classes it loaded as it exits, and `SparkClasses.stop` waits for that and puts
the file in place. Later sessions map it. A JVM that cannot use it starts as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from rdv.paths import cache_dir
from rdv.trainer.spark import quiet_spark
from rdv_tools.broker.class_archive import (
    archive_path,
    dump_options,
    install,
    java_runtime,
    sharing_options,
)

log = logging.getLogger(__name__)

# The JVM writes ~160 MB as it exits: ~5-10 s here, more beside a busy machine's other work.
DUMP_TIMEOUT_S = 180.0
ARCHIVING = (
    "archiving Spark's driver classes (once on this machine, ~15 s): later sessions start "
    "~4 s sooner"
)


def spark_libs() -> Path:
    """Where the archive of this pyspark version's driver lives (a `libs` stand-in: the
    archive sits beside it, as the broker's sits beside its jars)."""
    import pyspark

    return cache_dir() / f"spark-{pyspark.__version__}" / "libs"


class SparkClasses:
    """The driver JVM's option for the archive, and the stop that installs a fresh one."""

    def __init__(self) -> None:
        self.archive = archive_path(spark_libs(), java_runtime())
        self._partial: Path | None = None
        self._lock: IO[str] | None = None

    def options(self) -> list[str]:
        """Map the archive if there is one; else write one at exit, unless another process is
        writing it already. No option for a JVM this process runs already: its options are
        set."""
        from pyspark import SparkContext

        if SparkContext._gateway is not None:
            return []
        if self.archive.is_file():
            return sharing_options(self.archive)
        self.archive.parent.mkdir(parents=True, exist_ok=True)
        lock = (self.archive.parent / ".classes.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            return []
        self._lock = lock
        self._partial = self.archive.with_name(f"{self.archive.name}.{os.getpid()}.partial")
        return dump_options(self._partial)

    def stop(self, spark: Any, say: Callable[[str], None] = lambda _: None) -> None:
        """Stop the session; when its JVM writes the archive, end the JVM, wait for the file
        and put it in place (the next session starts a JVM of its own). `say` tells a user
        why this stop takes longer."""
        spark.stop()
        if self._partial is None:
            return
        say(ARCHIVING)
        try:
            self._end_jvm()
            if not install(self._partial, self.archive):
                log.warning("Spark's JVM wrote no class archive; sessions start without one")
        finally:
            self._partial = None
            if self._lock is not None:
                self._lock.close()
                self._lock = None

    def _end_jvm(self) -> None:
        from pyspark import SparkContext

        gateway = SparkContext._gateway
        if gateway is None:
            return
        process = getattr(gateway, "proc", None)
        gateway.shutdown()
        # The gateway JVM exits when its stdin closes (pyspark's own design), and writes the
        # archive on the way out.
        SparkContext._gateway = None
        SparkContext._jvm = None
        if process is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
            process.wait(DUMP_TIMEOUT_S)


@contextlib.contextmanager
def spark_session(
    master: str, app: str, say: Callable[[str], None] = lambda _: None
) -> Iterator[Any]:
    """`quiet_spark` with the class archive mapped (or written, the first time), stopped on
    the way out; `say` hears why a first stop takes longer."""
    classes = SparkClasses()
    spark = quiet_spark(master, app, classes.options())
    try:
        yield spark
    finally:
        classes.stop(spark, say)
