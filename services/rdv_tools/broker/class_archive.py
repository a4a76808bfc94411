"""Where the broker's class archive lives, and the JVM options that use or write it.

Java's class data sharing (AppCDS) lets a JVM map the classes an earlier run loaded, parsed
and verified from one file instead of doing that work again from the jars. A broker start
here took 7.8-8.6 s without it and 5.2-5.7 s with it (docs/performance.md, "A broker's
start"). The archive is made once per JDK and Kafka version (`rdv broker fetch`, which `make
jars` runs: `rdv_tools.broker.archiving`). A JVM that cannot use it (another JDK build, a
damaged file) says nothing and loads its classes from the jars as before, so a stale or
missing archive costs time, never a start.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from rdv.errors import BrokerError

ARCHIVE_GLOB = "classes-*.jsa"


def java_runtime() -> str:
    """The JVM that runs the broker (and Spark's driver): $JAVA_HOME's, else the PATH's."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        raise BrokerError("no Java runtime found: install a JDK 17+ or set JAVA_HOME")
    return java


# The broker's collector (rdv_tools.broker.embedded puts it on the command line). An archive
# must share its heap layout to be used: one written under ZGC (no compressed object pointers)
# is silently ignored by a broker on the parallel collector, which then loads every class from
# the jars again. Named in the archive's name, so that a change of collector here makes a new
# archive instead of offering the old one.
COLLECTOR = "-XX:+UseParallelGC"


def archive_path(libs: Path, java: str) -> Path:
    """The archive for the jars in `libs`, this JDK and the broker's collector: beside the
    jars' folder, named after the JVM's library, so that a JDK upgrade makes a new one
    instead of offering the old."""
    real = Path(java).resolve()
    jvm = real.parent.parent / "lib" / "server" / "libjvm.so"
    identity = jvm if jvm.exists() else real
    stat = identity.stat()
    digest = hashlib.sha256(f"{identity}:{stat.st_size}:{stat.st_mtime_ns}:{COLLECTOR}".encode())
    return libs.parent / f"classes-{digest.hexdigest()[:12]}.jsa"


def sharing_options(archive: Path) -> list[str]:
    """The option that maps the archive, when there is one."""
    return [f"-XX:SharedArchiveFile={archive}"] if archive.is_file() else []


def dump_options(partial: Path) -> list[str]:
    """The option that writes what this JVM loaded to `partial` when it exits. The dump's
    warnings (hundreds of classes it skips: signed jars, generated accessors) are silenced:
    they would bury a first run's own output."""
    return [f"-XX:ArchiveClassesAtExit={partial}", "-Xlog:cds*=off"]


def install(partial: Path, archive: Path) -> bool:
    """Put a freshly written archive in place of any older one. False when the JVM wrote
    none (it exited before it could, or could not dump)."""
    if not partial.is_file() or partial.stat().st_size == 0:
        partial.unlink(missing_ok=True)
        return False
    for old in archive.parent.glob(ARCHIVE_GLOB):
        if old != archive:
            old.unlink(missing_ok=True)
    partial.replace(archive)
    return True
