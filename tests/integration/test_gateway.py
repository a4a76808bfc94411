"""`rdv gateway` in front of a real stack: the real tritonclient (binary tensors, its
defaults), curl with JSON, the protocol's health and metadata, and its errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from rdv_tools.broker.embedded import listening_port
from tests.integration.harness import eventually, services
from tests.integration.stack import StackTopics
from tests.integration.test_rendezvous import CONFIG, models, start_workers, warm_up

pytestmark = pytest.mark.broker
MODEL = "login-bot"


@pytest.fixture(scope="module")
def gateway_url(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("gateway")
    stack = StackTopics(kafka_bootstrap)
    stack.publish(CONFIG)
    port = listening_port()
    with services(tmp, stack.bootstrap, stack.env) as launch:
        start_workers(launch, models(tmp))
        launch("rendezvous")
        launch("gateway", "--port", str(port), "--model-name", MODEL)
        warm_up(stack)
        url = f"http://127.0.0.1:{port}"
        eventually(lambda: _status(f"{url}/v2/health/ready") == 200, 60, "the gateway ready")
        yield url


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def _post(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data, headers or {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_tritonclient_with_its_defaults_gets_the_champions_answers(gateway_url: str) -> None:
    from tritonclient import http

    client = http.InferenceServerClient(gateway_url.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready(MODEL)
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    logins = http.InferInput("failed_logins", [3, 1], "FP32")
    logins.set_data_from_numpy(np.array([[12.0], [0.0], [np.nan]], dtype=np.float32))
    age = http.InferInput("account_age_days", [3, 1], "FP64")
    age.set_data_from_numpy(np.array([[2.0], [900.0], [30.0]]))
    country = http.InferInput("country", [3, 1], "BYTES")
    country.set_data_from_numpy(np.array([[b"FR"], [b"US"], [b"DE"]], dtype=np.object_))
    result = client.infer(MODEL, [logins, age, country], timeout=2_000_000)  # µs
    models = [m.decode() for m in result.as_numpy("model")]
    # The third row's NaN is a missing feature: whoever answers it, the first two are scored.
    assert models[:2] == ["login-bot@2", "login-bot@2"]
    labels = [label.decode() for label in result.as_numpy("label")]
    assert labels[:2] == ["bot", "human"]
    scores = result.as_numpy("score")
    assert scores.dtype == np.float64 and scores[0] > 0.5 > scores[1]
    parameters = result.get_response()["parameters"]
    assert parameters["model"].split(",")[:2] == ["login-bot@2", "login-bot@2"]
    assert len(parameters["request_id"].split(",")) == 3


def test_curl_with_json_gets_an_answer_with_its_parameters(gateway_url: str) -> None:
    if shutil.which("curl") is None:
        pytest.skip("no curl on this machine")
    body = {
        "inputs": [
            {"name": "failed_logins", "shape": [1], "datatype": "FP64", "data": [9]},
            {"name": "country", "shape": [1], "datatype": "BYTES", "data": ["FR"]},
            {"name": "key", "shape": [1], "datatype": "BYTES", "data": ["user-42"]},
        ]
    }
    done = subprocess.run(
        [
            "curl",
            "-s",
            "-H",
            "Content-Type: application/json",
            "-d",
            json.dumps(body),
            f"{gateway_url}/v2/models/{MODEL}/infer",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    response = json.loads(done.stdout)
    assert response["model_name"] == MODEL
    assert response["parameters"]["role"] in {"champion", "fallback"}
    assert response["parameters"]["reason"] in {"preferred", "champion", "fallback"}
    outputs = {o["name"]: o for o in response["outputs"]}
    assert outputs["score"]["datatype"] == "FP64" and len(outputs["score"]["data"]) == 1
    assert outputs["request_id"]["data"] == [response["id"]]


@pytest.mark.parametrize(
    ("path", "body", "status", "reason"),
    [
        ("/v2/models/nope/infer", {"inputs": []}, 404, "no model 'nope'"),
        (f"/v2/models/{MODEL}/infer", b"{not json", 400, "not valid JSON"),
        (f"/v2/models/{MODEL}/infer", {"inputs": [{"name": "a"}]}, 400, "a shape and a datatype"),
        (
            f"/v2/models/{MODEL}/infer",
            {"inputs": [{"name": "a", "shape": [2], "datatype": "FP32", "data": [1]}]},
            400,
            "1 values for shape [2]",
        ),
        (
            f"/v2/models/{MODEL}/infer",
            {
                "inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [1]}],
                "outputs": [{"name": "nothing"}],
            },
            400,
            "unknown outputs ['nothing']",
        ),
        (f"/v2/models/{MODEL}/explain", {"inputs": []}, 404, "no such endpoint"),
    ],
)
def test_bad_calls_get_the_protocols_error_and_the_server_stays_up(
    gateway_url: str, path: str, body: Any, status: int, reason: str
) -> None:
    got, error = _post(gateway_url + path, body)
    assert got == status and reason in error["error"], error
    assert _status(f"{gateway_url}/v2/health/live") == 200


def test_metrics_count_calls_and_answers(gateway_url: str) -> None:
    body = {"inputs": [{"name": "failed_logins", "shape": [1], "datatype": "FP64", "data": [1]}]}
    assert _post(f"{gateway_url}/v2/models/{MODEL}/infer", body)[0] == 200
    with urllib.request.urlopen(f"{gateway_url}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert 'rdv_gateway_calls_total{route="infer",status="200"}' in text
    assert "rdv_gateway_infer_seconds_bucket" in text
    assert "rdv_gateway_answers_total" in text
