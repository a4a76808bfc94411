"""The rendezvous across a real broker, with real workers: answers, records, fallbacks."""

from __future__ import annotations

import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rdv.broker.embedded import free_port
from rdv.rendezvous.config import RolloutConfig, Tier
from tests.integration.harness import CODEC, read_until, send_requests, services
from tests.integration.models import decision_tree, logistic
from tests.integration.stack import StackTopics

pytestmark = pytest.mark.broker

CONFIG = RolloutConfig(
    champion="login-bot@2",
    challengers=("login-bot@3",),
    canary="login-bot@1",
    fallback="fast@1",
    sla_ms=400,
    grace_ms=300,
    schedule=(Tier("preferred", 0), Tier("champion", 100), Tier("fallback", 250)),
)


def models(tmp: Path) -> dict[str, Path]:
    return {
        "login-bot@2": logistic(tmp / "m2", "2"),
        "login-bot@3": logistic(tmp / "m3", "3", slope=1.2),
        "login-bot@1": decision_tree(tmp / "m1", "1"),
        "fast@1": decision_tree(tmp / "f1", "1", name="fast"),
    }


def answers(stack: StackTopics, count: int, timeout: float = 90) -> list[dict[str, Any]]:
    messages = read_until(
        stack.bootstrap,
        stack["answers"],
        lambda m: len({CODEC.decode("Answer", x.value)["request_id"] for x in m}) >= count,
        timeout,
    )
    return [CODEC.decode("Answer", m.value) for m in messages]


def records(stack: StackTopics, count: int, timeout: float = 90) -> list[dict[str, Any]]:
    messages = read_until(
        stack.bootstrap, stack["rendezvous.log"], lambda m: len(m) >= count, timeout
    )
    return [CODEC.decode("Record", m.value) for m in messages]


@pytest.fixture
def stack(kafka_bootstrap: str) -> StackTopics:
    return StackTopics(kafka_bootstrap)


def warm_up(stack: StackTopics) -> None:
    """Wait until the stack answers (groups joined, models loaded): requests sent before that
    are answered late, correctly, and would blur what a test checks."""
    [request] = send_requests(stack.bootstrap, stack["requests"], 1)
    read_until(
        stack.bootstrap,
        stack["answers"],
        lambda m: any(
            CODEC.decode("Answer", x.value)["request_id"] == request["request_id"] for x in m
        ),
        90,
    )


def start_workers(launch: Any, paths: dict[str, Path], skip: tuple[str, ...] = ()) -> dict:
    roles = {
        "login-bot@2": "champion",
        "login-bot@3": "challenger",
        "login-bot@1": "canary",
        "fast@1": "fallback",
    }
    return {
        model: launch("worker", "--model", str(path), "--role", roles[model])
        for model, path in paths.items()
        if model not in skip
    }


def test_every_request_is_answered_once_by_the_champion_and_recorded(
    stack: StackTopics, tmp_path: Path
) -> None:
    stack.publish(CONFIG)
    port = free_port()
    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        start_workers(launch, models(tmp_path))
        launch("rendezvous", "--metrics-port", str(port))
        warm_up(stack)
        sent = send_requests(stack.bootstrap, stack["requests"], 300)
        got = [a for a in answers(stack, 301) if a["request_id"] != "warm"]
        got = [a for a in got if a["request_id"] in {r["request_id"] for r in sent}]
        logged = records(stack, 301)
        time.sleep(1.0)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    assert sorted(a["request_id"] for a in got) == sorted(r["request_id"] for r in sent)
    assert Counter((a["model"], a["reason"]) for a in got).most_common(1)[0][0] == (
        "login-bot@2",
        "preferred",
    )
    assert all(a["model"] in ("login-bot@2", "fast@1") for a in got)
    assert all(a["latency_us"] <= CONFIG.sla_ms * 1000 and not a["late"] for a in got)
    assert {a["config_version"] for a in got} == {1}
    assert len({r["request_id"] for r in logged}) == 301
    record = logged[0]
    assert {c["model"] for c in record["candidates"]} <= set(CONFIG.models())
    assert "login-bot@1" in record["delta_canary"] or "login-bot@1" in record["missing"]
    assert 'rdv_answers_total{reason="preferred",role="champion"}' in metrics
    assert "rdv_config_version 1.0" in metrics


def test_with_the_champion_dead_the_fallback_answers_inside_the_sla(
    stack: StackTopics, tmp_path: Path
) -> None:
    stack.publish(CONFIG)
    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        start_workers(launch, models(tmp_path), skip=("login-bot@2",))
        launch("rendezvous")
        warm_up(stack)
        sent = send_requests(stack.bootstrap, stack["requests"], 100)
        ids = {r["request_id"] for r in sent}
        got = [a for a in answers(stack, 101) if a["request_id"] in ids]
    assert sorted(a["request_id"] for a in got) == sorted(r["request_id"] for r in sent)
    reasons = Counter((a["model"], a["reason"]) for a in got)
    assert reasons[("fast@1", "fallback")] == 100, reasons
    assert all(
        CONFIG.schedule[2].after_ms * 1000 <= a["latency_us"] <= CONFIG.sla_ms * 1000 for a in got
    )
