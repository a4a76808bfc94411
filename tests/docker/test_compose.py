"""docker-compose.yml as a user runs it: `docker compose up`, then requests from the host get
answers, and Prometheus in the stack scrapes every service. Also the testcontainers path of the
broker fixture, on the apache/kafka image. Runs where a Docker engine is up (on machines that
cannot pull images, after ops/images/build-stand-ins.sh)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rdv.client import RendezvousClient
from rdv_tools.broker.embedded import listening_port

# Building the images on a fresh machine takes minutes; the suite's 300 s per test is too short.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(1200)]
ROOT = Path(__file__).resolve().parents[2]
# Grafana has no stand-in on machines without a registry; everything else is started.
SERVICES = [
    "kafka",
    "champion",
    "challenger",
    "canary",
    "fallback",
    "decoy",
    "rendezvous",
    "gateway",
    "prometheus",
]


def _docker_ready() -> str | None:
    """Why Docker cannot be used here, or None."""
    build = _images_built()
    if build:
        return build
    if not shutil.which("docker"):
        return "no docker client"
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode:
        return "no Docker engine answers"
    if subprocess.run(
        ["docker", "compose", "version"], capture_output=True, check=False
    ).returncode:
        return "no `docker compose`"
    return None


def _images_built(timeout: float = 1200) -> str | None:
    """Wait for the images CI builds in the background (`.ci/run`), if it does: it writes the
    build's exit code to the file RDV_IMAGES_BUILD_STATUS names. Why they are missing, or
    None."""
    named = os.environ.get("RDV_IMAGES_BUILD_STATUS")
    if not named:
        return None
    status = Path(named)
    deadline = time.monotonic() + timeout
    while not status.exists():
        if time.monotonic() > deadline:
            return f"the images' build wrote no exit code to {status} in {timeout:.0f} s"
        time.sleep(1)
    code = status.read_text().strip()
    log = status.with_suffix(".log")
    return None if code == "0" else f"building the images failed ({code}): see {log}"


@pytest.fixture(scope="module")
def docker_engine() -> None:
    reason = _docker_ready()
    if reason:
        if os.environ.get("RDV_REQUIRE_DOCKER") == "1":
            pytest.fail(f"RDV_REQUIRE_DOCKER=1 but {reason}")
        pytest.skip(reason)


def compose(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    result = subprocess.run(
        ["docker", "compose", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"docker compose {' '.join(args)}:\n{result.stderr[-4000:]}"
    return result.stdout


@dataclass(frozen=True)
class ComposeStack:
    bootstrap: str
    prometheus: str
    env: dict[str, str]
    gateway: str


@pytest.fixture(scope="module")
def compose_stack(docker_engine: None) -> Iterator[ComposeStack]:
    kafka, prometheus, gateway = listening_port(), listening_port(), listening_port()
    env = {
        **os.environ,
        "COMPOSE_PROJECT_NAME": f"rdv-test-{uuid.uuid4().hex[:6]}",
        "RDV_KAFKA_PORT": str(kafka),
        "RDV_PROMETHEUS_PORT": str(prometheus),
        "RDV_GATEWAY_PORT": str(gateway),
    }
    try:
        compose(env, "build", "--quiet")
        compose(env, "up", "--detach", "--wait", *SERVICES)
        yield ComposeStack(
            f"127.0.0.1:{kafka}",
            f"http://127.0.0.1:{prometheus}",
            env,
            f"http://127.0.0.1:{gateway}",
        )
    finally:
        subprocess.run(
            ["docker", "compose", "down", "--volumes", "--timeout", "10"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )


def test_compose_stack_answers_requests_from_the_host(compose_stack: ComposeStack) -> None:
    bootstrap, prometheus = compose_stack.bootstrap, compose_stack.prometheus
    rows = [{"failed_logins": float(i % 15), "country": "FR"} for i in range(200)]
    with RendezvousClient(bootstrap) as client:
        deadline = time.monotonic() + 120
        while True:  # the first requests can meet workers still joining their groups
            try:
                client.predict({"failed_logins": 1.0}, timeout=5)
                break
            except TimeoutError:
                assert time.monotonic() < deadline, "no answer from the compose stack"
        for warm_up in rows[:50]:  # fresh workers answer their first requests slowly
            client.predict(warm_up, timeout=10)
        futures = []
        for row in rows:  # 50 requests/s, as steady traffic, not one burst
            futures.append(client.submit(row))
            client.flush()
            time.sleep(0.02)
        answers = [future.result(timeout=30) for future in futures]
    assert len(answers) == 200
    by_model = {a["model"] for a in answers}
    assert "login-bot@2" in by_model  # the champion of ops/compose/rollout.yaml
    # Which tier answers depends on timing (containers, a loaded machine): `rdv bench e2e`
    # measures that. Here: the champion answers, and nothing but the rollout's roles does.
    mix = Counter((a["role"], a["reason"]) for a in answers)
    assert mix[("champion", "preferred")] > 0, mix
    assert {role for role, _ in mix} <= {"champion", "fallback", "default"}, mix

    shown = subprocess.run(
        [sys.executable, "-m", "rdv_tools.cli", "rollout", "show", "--bootstrap", bootstrap],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shown.returncode == 0 and "champion: login-bot@2" in shown.stdout, shown.stderr

    def targets_up() -> int:
        url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": "up == 1"})
        with urllib.request.urlopen(url, timeout=5) as response:
            return len(json.load(response)["data"]["result"])

    deadline = time.monotonic() + 60
    while targets_up() < 7:
        assert time.monotonic() < deadline, "Prometheus in the stack does not see all services"
        time.sleep(2)


def test_the_compose_gateway_answers_http_from_the_host(compose_stack: ComposeStack) -> None:
    body = {
        "inputs": [
            {"name": "failed_logins", "shape": [1], "datatype": "FP64", "data": [11]},
            {"name": "country", "shape": [1], "datatype": "BYTES", "data": ["FR"]},
        ]
    }
    request = urllib.request.Request(
        f"{compose_stack.gateway}/v2/models/rendezvous/infer",
        json.dumps(body).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    assert answer["parameters"]["reason"] in {"preferred", "champion", "fallback", "default"}
    assert answer["outputs"][0]["name"] == "score"


# Each service in turn, as docs/operations.md tells: a new container under the same name.
UPGRADE_ORDER = ["champion", "challenger", "canary", "fallback", "decoy", "rendezvous"]


def test_a_rolling_upgrade_of_the_compose_stack_loses_and_repeats_nothing(
    compose_stack: ComposeStack,
) -> None:
    from rdv_tools.bench.chaos import _collect

    sent: list[str] = []
    futures = []
    done = threading.Event()
    with RendezvousClient(compose_stack.bootstrap) as client:
        client.predict({"failed_logins": 1.0}, timeout=30)

        def send() -> None:  # 20 requests/s for as long as the upgrade lasts
            while not done.is_set():
                futures.append(client.submit({"failed_logins": 3.0, "country": "FR"}))
                sent.append(futures[-1].request_id)
                client.flush()
                time.sleep(0.05)

        sender = threading.Thread(target=send)
        sender.start()
        try:
            for service in UPGRADE_ORDER:
                compose(
                    compose_stack.env, "up", "--detach", "--no-deps", "--force-recreate",
                    "--wait", service,
                )  # fmt: skip
        finally:
            done.set()
            sender.join()
        answered = [f.result(timeout=120) for f in futures]
    assert len(answered) == len(sent) > 100
    # Read as a read_committed consumer downstream would: one answer per request.
    committed = Counter(
        a["request_id"] for a in _collect(compose_stack.bootstrap, "answers", set(sent), 50)
    )
    assert set(committed) == set(sent)
    assert set(committed.values()) == {1}, committed.most_common(3)


def test_testcontainers_path_runs_the_adapter_tests_on_the_kafka_image(
    docker_engine: None,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env |= {
        "RDV_TESTCONTAINERS": "1",
        "RDV_KAFKA_IMAGE": "apache/kafka:4.3.1",
        # Ryuk (testcontainers' reaper) is an image of its own; the fixture stops its container.
        "TESTCONTAINERS_RYUK_DISABLED": env.get("TESTCONTAINERS_RYUK_DISABLED", "true"),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/integration/test_adapter.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout
