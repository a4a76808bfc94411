"""Apicurio Registry 2.6 (Quarkus, in-memory storage) as a local process.

Its 3.x line needs Java 21; 2.6.13.Final's `all` tar.gz holds a runner jar that starts on Java
17 in about 5 s. Maven fetches the tar.gz into the cache once; it is unpacked beside it. The
Confluent-compatible API is under /apis/ccompat/v7: that is the URL RDV_SCHEMA_REGISTRY_URL
takes. Storage is in memory: a restart forgets every schema, which suits tests and a laptop,
not production (run a registry with persistent storage there).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rdv.errors import BrokerError, ConfigError
from rdv.paths import cache_dir, state_dir
from rdv_tools.cache_lock import cache_lock

VERSION = "2.6.13.Final"
ARTIFACT = f"io.apicurio:apicurio-registry-app:{VERSION}:tar.gz:all"
CCOMPAT = "/apis/ccompat/v7"
DEFAULT_PORT = 8081  # Confluent Schema Registry's


def home() -> Path:
    return cache_dir() / f"apicurio-{VERSION}"


def runner_jar() -> Path:
    return home() / f"apicurio-registry-app-{VERSION}-runner.jar"


def ensure_runner() -> Path:
    """The runner jar, fetched with Maven and unpacked the first time."""
    with cache_lock("apicurio"):
        return _ensure_runner()


def _ensure_runner() -> Path:
    jar = runner_jar()
    if jar.exists() and (home() / "lib").is_dir():
        return jar
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ConfigError("Maven (mvn) is needed once to fetch Apicurio Registry: install it")
    partial = home().with_name(home().name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    fetched = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "dependency:copy",
            f"-Dartifact={ARTIFACT}",
            f"-DoutputDirectory={partial}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    archives = list(partial.glob("*.tar.gz"))
    if fetched.returncode != 0 or not archives:
        tail = (fetched.stdout + fetched.stderr).strip().splitlines()[-5:]
        raise ConfigError(f"Maven could not fetch {ARTIFACT}: {' '.join(tail)}")
    with tarfile.open(archives[0]) as archive:
        archive.extractall(partial, filter="data")
    archives[0].unlink()
    shutil.rmtree(home(), ignore_errors=True)
    partial.rename(home())  # last: an interrupted fetch never looks complete
    return jar


@dataclass(frozen=True)
class RegistryState:
    pid: int
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{CCOMPAT}"


def state_file(directory: Path | None = None) -> Path:
    return (directory or state_dir() / "schema-registry") / "state.json"


def running(directory: Path | None = None) -> RegistryState | None:
    path = state_file(directory)
    if not path.exists():
        return None
    state = RegistryState(**json.loads(path.read_text()))
    try:
        os.kill(state.pid, 0)
    except ProcessLookupError:
        path.unlink(missing_ok=True)
        return None
    return state


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/subjects", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start(
    port: int = DEFAULT_PORT, directory: Path | None = None, timeout: float = 90
) -> RegistryState:
    """Start the registry in the background (idempotent) and wait until it answers."""
    already = running(directory)
    if already is not None:
        return already
    jar = ensure_runner()
    java = shutil.which("java")
    if java is None:
        raise ConfigError("Java 17 or newer is needed to run Apicurio Registry")
    path = state_file(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    log = path.with_name("registry.log")
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [
                java,
                "-Xmx512m",
                "-Dquarkus.http.host=127.0.0.1",
                f"-Dquarkus.http.port={port}",
                "-jar",
                str(jar),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # outlives the command that started it
        )
    state = RegistryState(process.pid, port)
    deadline = time.monotonic() + timeout
    while not answers(state.url):
        if process.poll() is not None:
            last = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise BrokerError(f"Apicurio Registry exited at start (log {log}): {last[0][:300]}")
        if time.monotonic() > deadline:
            process.kill()
            raise BrokerError(f"Apicurio Registry did not answer in {timeout:.0f} s (log {log})")
        time.sleep(0.3)
    path.write_text(json.dumps({"pid": state.pid, "port": state.port}))
    return state


def stop(directory: Path | None = None) -> bool:
    """Stop the registry this machine's `rdv registry start` left running; False if none."""
    state = running(directory)
    if state is None:
        return False
    os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(state.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(state.pid, signal.SIGKILL)
    state_file(directory).unlink(missing_ok=True)
    return True
