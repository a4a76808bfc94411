"""Kafka with SASL/PLAIN: the whole stack configured only through KAFKA_* settings, against the
embedded broker with a SASL_PLAINTEXT listener; the password never shows in logs, errors or
metrics."""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from rdv_tools.broker import EmbeddedBroker
from tests.integration.harness import eventually, free_block, rdv_at_home

pytestmark = pytest.mark.broker
PASSWORD = "pw-" + secrets.token_hex(12)


@pytest.fixture(scope="module")
def sasl_bootstrap() -> Iterator[str]:
    with EmbeddedBroker.throwaway(sasl_users={"alice": PASSWORD}) as broker:
        yield broker.bootstrap


def sasl(bootstrap: str, password: str = PASSWORD) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KAFKA_SASL_MECHANISM": "PLAIN",
        "KAFKA_SASL_USERNAME": "alice",
        "KAFKA_SASL_PASSWORD": password,
    }


def metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as page:
        return str(page.read().decode())


def scored(page: str) -> float:
    """The worker's requests scored, summed over its labels."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in page.splitlines()
        if line.startswith("rdv_worker_scored_total")
    )


def test_the_stack_runs_on_sasl_settings_and_never_shows_the_password(
    sasl_bootstrap: str, tmp_path: Path
) -> None:
    env = {**sasl(sasl_bootstrap), "RDV_UP_METRICS_PORT_BASE": str(free_block(6))}
    try:
        up = rdv_at_home(tmp_path, "up", "--detach", "--example-models", "--no-prometheus", **env)
        assert up.returncode == 0, up.stderr[-3000:]
        answer = rdv_at_home(tmp_path, "predict", "--json", '{"failed_logins": 11}', **env)
        assert answer.returncode == 0, answer.stderr
        # The SLA runs from the request's creation in a fresh `rdv predict` process: on a
        # loaded machine the default may answer in time, which is the rule. That the models
        # read and scored over SASL shows on their metrics pages instead.
        assert json.loads(answer.stdout)["role"] in {"champion", "fallback", "default"}
        stack = json.loads((tmp_path / "stack.json").read_text())
        pages = [metrics(s["metrics_port"]) for s in stack["services"].values()]
        champion = stack["services"]["login-bot@2"]["metrics_port"]
        eventually(lambda: scored(metrics(champion)) >= 1, 60, "the champion's first score")
    finally:
        down = rdv_at_home(tmp_path, "down", **env)
    assert down.returncode == 0, down.stderr
    logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "logs").glob("*.log"))
    assert "reading requests" in logs  # the services did log, and ran
    for text in (logs, up.stdout, up.stderr, answer.stdout, answer.stderr, *pages):
        assert PASSWORD not in text
    assert not (tmp_path / "stack.json").exists()


def test_plaintext_clients_are_refused_with_one_line(sasl_bootstrap: str, tmp_path: Path) -> None:
    result = rdv_at_home(tmp_path, "topics", "list", KAFKA_BOOTSTRAP_SERVERS=sasl_bootstrap)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_wrong_password_is_named_but_not_echoed(sasl_bootstrap: str, tmp_path: Path) -> None:
    wrong = "wrong-" + secrets.token_hex(8)
    result = rdv_at_home(tmp_path, "topics", "list", **sasl(sasl_bootstrap, wrong))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "authentication" in result.stderr.lower(), result.stderr
    assert wrong not in result.stderr + result.stdout
    assert PASSWORD not in result.stderr + result.stdout
