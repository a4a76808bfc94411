"""The broker's jars: resolved by Maven from Maven Central once, then reused offline."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from rdv.errors import BrokerError
from rdv.paths import cache_dir, kafka_pom_dir
from rdv_tools.cache_lock import cache_lock


def pinned_kafka_version() -> str:
    """The Kafka version pinned in ops/kafka/pom.xml."""
    pom = (kafka_pom_dir() / "pom.xml").read_text()
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom)
    if not match:
        raise BrokerError(f"no <kafka.version> in {kafka_pom_dir() / 'pom.xml'}")
    return match.group(1)


def libs_dir(version: str | None = None) -> Path:
    return cache_dir() / f"kafka-{version or pinned_kafka_version()}" / "libs"


def jars_present(libs: Path) -> bool:
    return libs.is_dir() and any(libs.glob("kafka_2.13-*.jar")) and any(libs.glob("log4j-core-*"))


def ensure_jars(quiet: bool = False) -> Path:
    """The folder of broker jars, running Maven first if it is not populated yet."""
    with cache_lock("kafka"):
        return _ensure_jars(quiet)


def _ensure_jars(quiet: bool) -> Path:
    version = pinned_kafka_version()
    libs = libs_dir(version)
    if jars_present(libs):
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError(
            "Maven (mvn) is needed once to fetch the Kafka broker jars: install it "
            "(apt-get install maven) or set KAFKA_BOOTSTRAP_SERVERS to use another broker"
        )
    if not quiet:
        print(
            f"Fetching Apache Kafka {version} jars with Maven into {libs} (once) ...",
            file=sys.stderr,
            flush=True,
        )
    partial = libs.with_name("libs.partial")
    shutil.rmtree(partial, ignore_errors=True)
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(kafka_pom_dir() / "pom.xml"),
        f"-Drdv.kafka.libs={partial}",
        "package",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not jars_present(partial):
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise BrokerError(f"Maven could not resolve Kafka {version}:\n{tail}")
    # Rename last, so an interrupted download never looks like a complete cache.
    shutil.rmtree(libs, ignore_errors=True)
    partial.rename(libs)
    return libs
