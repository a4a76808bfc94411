"""`rdv bench peer --http`: the gateway in front of the stack against MLServer's REST server,
serving the same model on the same machine, driven by one HTTP client over keep-alive
connections. What an application calling over HTTP sees of each."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rdv.client import AnswerTimeoutError
from rdv.errors import ConfigError
from rdv.gateway.tensors import feature_inputs
from rdv_tools.bench.mlserver import MLServerProcess
from rdv_tools.bench.served import warm_up
from rdv_tools.broker.embedded import listening_port

MODEL = "login-bot"
CONNECTIONS = 16  # concurrent calls in flight: a small application server's pool


def infer_body(features: dict[str, Any], mlserver: bool) -> bytes:
    inputs = feature_inputs(features)
    body: dict[str, Any] = {"inputs": inputs}
    if mlserver:  # its scikit-learn runtime wants a DataFrame and names the output it gives
        body["parameters"] = {"content_type": "pd"}
        body["outputs"] = [{"name": "predict_proba"}]
    return json.dumps(body).encode()


def read_answer(response: dict[str, Any]) -> dict[str, Any]:
    """A Rendezvous answer's shape from either server's response."""
    outputs = {o["name"]: o.get("data") for o in response.get("outputs", [])}
    parameters = response.get("parameters") or {}
    if "score" in outputs:
        return {"score": outputs["score"][0], "reason": parameters.get("reason", "")}
    proba = outputs.get("predict_proba") or [None]
    last = proba[-1] if not isinstance(proba[-1], list) else proba[-1][-1]
    return {"score": last, "reason": "mlserver"}


class HttpClient:
    """Infer calls on a pool of keep-alive connections; futures of answers as `drive` and
    `burst` expect them. A failed call answers with reason `http <status>`."""

    def __init__(self, port: int, mlserver: bool, connections: int = CONNECTIONS) -> None:
        self.port, self.mlserver = port, mlserver
        self.path = f"/v2/models/{MODEL}/infer"
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(connections, thread_name_prefix="rdv-http")

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self._local.connection = connection
        return connection

    def _call(self, body: bytes) -> dict[str, Any]:
        # A kept-alive connection the server has closed meanwhile fails on first use; a new one
        # is tried once, as HTTP client libraries do.
        for attempt in (1, 2):
            try:
                connection = self._connection()
                connection.request("POST", self.path, body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                payload = response.read()
                break
            except (OSError, http.client.HTTPException) as exc:
                self._local.connection = None
                if attempt == 2:
                    return {"score": None, "reason": f"http {type(exc).__name__}"}
        if response.status != 200:
            return {"score": None, "reason": f"http {response.status}"}
        return read_answer(json.loads(payload))

    def submit(self, features: dict[str, Any], key: str | None = None) -> Future[Any]:
        return self._pool.submit(self._call, infer_body(features, self.mlserver))

    def predict(self, features: dict[str, Any], timeout: float = 1.0) -> dict[str, Any]:
        answer: dict[str, Any] = self.submit(features).result(timeout)
        if str(answer["reason"]).startswith("http"):
            raise AnswerTimeoutError(f"no answer: {answer['reason']}")
        return answer

    def poll(self) -> None:
        """Calls go out as the pool takes them: nothing to hand on."""

    def flush(self) -> None:
        """Likewise."""

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def mlserver_rest(
    python: Path, models: Path, workdir: Path, bootstrap: str
) -> Iterator[HttpClient]:
    """MLServer's REST server (Kafka off, default settings) and a client of it, warmed up."""
    port = listening_port()
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    server = MLServerProcess(
        python, models, bootstrap, ("", ""), workdir / "logs" / "mlserver.log", http_port=port
    )
    try:
        client = HttpClient(port, mlserver=True)
        try:
            warm_up(client, on_time=10, timeout=180, check=server.check_alive)
            yield client
        finally:
            client.close()
    finally:
        server.stop()  # also when the client could not be made


@contextmanager
def gateway_over(start: Callable[..., Any], check: Callable[[], None]) -> Iterator[HttpClient]:
    """`rdv gateway` started by `start(name, *args)` beside a served stack, and its client."""
    port = listening_port()
    start("gateway", "gateway", "--port", str(port), "--model-name", MODEL)
    deadline = time.monotonic() + 60
    while True:
        probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            probe.request("GET", "/v2/health/ready")
            if probe.getresponse().status == 200:
                break
        except OSError:
            check()
        finally:
            probe.close()
        if time.monotonic() > deadline:
            raise ConfigError("the gateway did not become ready in 60 s")
        time.sleep(0.2)
    client = HttpClient(port, mlserver=False)
    try:
        warm_up(client, on_time=10)
        yield client
    finally:
        client.close()
