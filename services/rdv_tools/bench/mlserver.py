"""MLServer (Seldon) in Kafka mode, as the peer of `rdv bench peer`.

MLServer lives in its own virtualenv in the cache (`mlserver` and `mlserver-sklearn` from
PyPI, created on first use), so its dependencies never meet Rendezvous's. It serves the
scikit-learn twin of a login-bot model built by `peer_model.py` under that virtualenv, reads
V2 inference requests (JSON) from an input topic and writes responses to an output topic.
`MLServerClient` speaks that protocol with the same producer settings and answer-reading
thread as `RendezvousClient`, so the two are driven by the same code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from rdv.client import AnswerFuture, AnswerTimeoutError, ReplyReader
from rdv.errors import ConfigError
from rdv.gateway.tensors import feature_inputs
from rdv.kafka import Outgoing
from rdv.model.artifact import load_artifact
from rdv.paths import cache_dir
from rdv_tools.broker.embedded import listening_port
from rdv_tools.cache_lock import cache_lock

MLSERVER_VERSION = "1.7.1"
PACKAGES = [
    f"mlserver=={MLSERVER_VERSION}",
    f"mlserver-sklearn=={MLSERVER_VERSION}",
    # uvloop 0.22 raises where MLServer's inference workers ask for the event loop at start.
    "uvloop<0.22",
]


def venv_dir() -> Path:
    return cache_dir() / f"mlserver-{MLSERVER_VERSION}"


def ensure_mlserver(venv: Path | None = None) -> Path:
    """The virtualenv's python, creating the virtualenv (pip from PyPI) when it is missing."""
    with cache_lock("mlserver"):
        return _ensure_mlserver(venv or venv_dir())


def _ensure_mlserver(venv: Path) -> Path:
    python, complete = venv / "bin" / "python", venv / ".complete"
    if complete.exists() and complete.read_text() == " ".join(PACKAGES):
        return python
    # A marker, written last: an interrupted install is never taken for a complete one.
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", *PACKAGES],
        capture_output=True,
        text=True,
        check=False,
    )
    if pip.returncode != 0:
        last = (pip.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ConfigError(f"could not install {' '.join(PACKAGES)} from PyPI: {last}")
    complete.write_text(" ".join(PACKAGES))
    return python


def logistic_spec(model_dir: Path, check: list[dict[str, Any]]) -> dict[str, Any]:
    """What `peer_model.py` needs to rebuild a login-bot logistic regression artifact."""
    artifact = load_artifact(model_dir)
    stages = {stage.type: stage for stage in artifact.stages}
    logistic, indexer, imputer = (
        stages["LogisticRegression"],
        stages["StringIndexer"],
        stages["Imputer"],
    )
    return {
        "name": artifact.name,
        "version": artifact.version,
        "countries": list(indexer.params["labels"][0]),
        "age_surrogate": float(imputer.arrays["surrogates"][0]),
        "coefficients": [float(c) for c in logistic.arrays["coefficients"][0]],
        "intercept": float(logistic.arrays["intercepts"][0]),
        "check": check,
    }


def build_twin(python: Path, spec: dict[str, Any], target: Path) -> list[float]:
    """Write the twin's model and settings into `target`; its bot probabilities for the
    spec's check rows."""
    script = Path(__file__).with_name("peer_model.py")
    done = subprocess.run(
        [str(python), str(script), str(target)],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ConfigError(f"building the scikit-learn twin failed: {done.stderr.strip()[-300:]}")
    return [float(p) for p in json.loads(done.stdout)]


class MLServerProcess:
    """`mlserver start` on a model directory, Kafka enabled, REST/gRPC/metrics on free ports."""

    def __init__(
        self,
        python: Path,
        models: Path,
        bootstrap: str,
        topics: tuple[str, str],
        log: Path,
        parallel_workers: int | None = None,
        http_port: int | None = None,
    ) -> None:
        """With `http_port`, MLServer serves REST there and Kafka is off; otherwise it reads
        and writes `topics` on `bootstrap`."""
        kafka = http_port is None
        settings: dict[str, object] = {
            "kafka_enabled": kafka,
            "http_port": http_port or listening_port(),
            "grpc_port": listening_port(),
            "metrics_port": listening_port(),
        }
        if kafka:
            settings.update(
                {
                    "kafka_servers": bootstrap,
                    "kafka_topic_input": topics[0],
                    "kafka_topic_output": topics[1],
                }
            )
        if parallel_workers is not None:  # None: MLServer's default (1 inference process)
            settings["parallel_workers"] = parallel_workers
        (models / "settings.json").write_text(json.dumps(settings))
        self.log = log
        env = {**os.environ, "PATH": f"{python.parent}:{os.environ.get('PATH', '')}"}
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [str(python.parent / "mlserver"), "start", str(models)],
                cwd=models,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def check_alive(self) -> None:
        """Raise, with the end of its log, if MLServer has exited (while starting, say)."""
        if self.process.poll() is None:
            return
        lines = self.log.read_text(errors="replace").strip().splitlines() or ["(empty)"]
        raise ConfigError(
            f"MLServer exited while starting; its log ends: {lines[-1]}\n" + "\n".join(lines[-40:])
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class MLServerClient(ReplyReader):
    """V2 inference requests to MLServer's input topic; futures resolve to a dict shaped like
    a Rendezvous answer (`score`, `reason` "mlserver"), so benchmark code drives both."""

    def __init__(self, bootstrap: str, model: str, topics: tuple[str, str]) -> None:
        self.model, self.input_topic = model, topics[0]
        super().__init__(bootstrap, topics[1], client_id="rdv-bench-mlserver")

    def _reply(self, value: bytes | None) -> tuple[str, dict[str, Any]] | None:
        try:
            response = json.loads(value or b"{}")
        except ValueError:
            return None
        outputs = {o["name"]: o for o in response.get("outputs", [])}
        proba = outputs.get("predict_proba", {}).get("data", [None, None])
        return response.get("id") or "", {"score": proba[-1], "reason": "mlserver"}

    def submit(self, features: dict[str, Any], key: str | None = None) -> AnswerFuture:
        request_id = str(uuid.uuid4())
        future = self._expect(request_id)
        inputs = feature_inputs(features)
        body = {
            "id": request_id,
            "parameters": {"content_type": "pd"},
            "inputs": inputs,
            "outputs": [{"name": "predict_proba"}],
        }
        self._producer.send(
            Outgoing(
                self.input_topic,
                json.dumps(body).encode(),
                request_id.encode(),
                headers=(("mlserver-model", self.model.encode()),),
            )
        )
        return future

    def predict(self, features: dict[str, Any], timeout: float = 1.0) -> dict[str, Any]:
        future = self.submit(features)
        self._producer.poll(0)
        try:
            return future.result(timeout)
        except FutureTimeout as exc:
            self.forget([future])
            raise AnswerTimeoutError(f"no MLServer answer within {timeout:g} s") from exc
