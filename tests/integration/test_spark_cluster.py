"""`rdv train --master spark://...` on a Spark standalone cluster: a master and a worker started
from the pyspark package on loopback, as a user starts them. The data and the registry are on
paths the executor sees; the held-out metrics and the champion's scores are computed there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyspark
import pytest

from rdv.model import Scorer
from rdv.model.registry import Registry
from rdv_tools.broker.embedded import listening_port
from rdv_tools.demo.generator import login_rows, write_csv
from tests.integration.test_training import write_config

pytestmark = [pytest.mark.timeout(600), pytest.mark.parallel]

SPARK_HOME = Path(pyspark.__file__).parent


class SparkCluster:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port, self.ui = listening_port(), listening_port()
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def master(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def _start(self, name: str, *args: str) -> None:
        env = {
            **os.environ,
            "SPARK_HOME": str(SPARK_HOME),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "PYSPARK_PYTHON": sys.executable,
        }
        with open(self.workdir / f"{name}.log", "ab") as log:
            self.processes.append(
                subprocess.Popen(
                    [str(SPARK_HOME / "bin" / "spark-class"), *args],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def start(self) -> SparkCluster:
        self._start(
            "master",
            "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--webui-port", str(self.ui),
        )  # fmt: skip
        self._start(
            "worker",
            "org.apache.spark.deploy.worker.Worker",
            self.master,
            "--host", "127.0.0.1",
            "--cores", "2",
            "--memory", "2g",
            "--webui-port", str(listening_port()),
            "--work-dir", str(self.workdir / "work"),
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if self.state()["aliveworkers"] >= 1:
                    return self
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the Spark cluster did not come up; see {self.workdir}/*.log")

    def state(self) -> dict[str, Any]:
        """The master's own view, from its web UI's JSON endpoint."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui}/json/", timeout=5) as reply:
            state: dict[str, Any] = json.load(reply)
        return state

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkCluster]:
    running = SparkCluster(tmp_path_factory.mktemp("spark-cluster")).start()
    try:
        yield running
    finally:
        running.stop()


def _train(config: Path, master: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "rdv_tools.cli",
            "train",
            "--config",
            str(config),
            "--master",
            master,
        ],
        capture_output=True,
        text=True,
        timeout=500,
        check=False,
    )


def test_training_runs_on_a_standalone_cluster_with_the_champion_gate_on_the_executors(
    cluster: SparkCluster, tmp_path: Path
) -> None:
    write_csv(tmp_path / "rows.csv", login_rows(3000, seed=1, bad_share=0.02))
    first = _train(write_config(tmp_path, "1", "rows.csv"), cluster.master)
    assert first.returncode == 0, first.stdout + first.stderr
    registry = Registry(tmp_path / "registry")
    registry.alias("champion", "login-bot@1")

    # The second version is gated against the champion, whose scores come from the executors.
    second = _train(write_config(tmp_path, "2", "rows.csv"), cluster.master)
    assert second.returncode == 0, second.stdout + second.stderr
    entry = registry.get("login-bot@2")
    held_out = next(g for g in entry.info["gates"] if g["name"] == "held-out AUC")
    assert held_out["passed"] and "vs champion" in held_out["detail"]
    assert entry.info["metrics"]["auc"] > 0.9
    assert Scorer(entry.artifact).golden_mismatches() == []

    apps = cluster.state()["completedapps"]
    ran = [a for a in apps if a["name"] == "rdv-train-login-bot"]
    assert len(ran) == 2 and all(a["state"] == "FINISHED" for a in ran)
