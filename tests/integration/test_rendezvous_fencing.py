"""A named rendezvous is a static group member: what fences its consumer decides whether it
stops (another instance runs under its name) or joins the group again (its own earlier
session, which librdkafka can leave behind when Kafka restarts)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Consumer

from tests.integration.harness import CODEC, read_until, send_requests, services
from tests.integration.stack import StackTopics
from tests.integration.test_rendezvous import (
    CONFIG,
    answers,
    models,
    start_workers,
    warm_up,
)

# It checks answers counted, not answered in time: it runs beside another test (`parallel`).
pytestmark = [pytest.mark.broker, pytest.mark.parallel]


@pytest.fixture
def stack(kafka_bootstrap: str) -> StackTopics:
    return StackTopics(kafka_bootstrap)


def answered_once(stack: StackTopics, ids: set[str]) -> Counter[str]:
    """How often each of these requests was answered, as a read_committed reader sees it."""
    final = [
        CODEC.decode("Answer", m.value)
        for m in read_until(stack.bootstrap, stack["answers"], lambda m: False, timeout=5)
    ]
    return Counter(a["request_id"] for a in final if a["request_id"] in ids)


def fence_the_member(stack: StackTopics, instance_id: str) -> None:
    """What a broker restart can leave behind: a session of the member's own
    group.instance.id that joins after it, with no producer and no other instance behind it."""
    ghost = Consumer(
        {
            "bootstrap.servers": stack.bootstrap,
            "group.id": stack.env["RDV_RENDEZVOUS_GROUP_ID"],
            "group.instance.id": instance_id,
            "partition.assignment.strategy": "range",
            "enable.auto.commit": False,
        }
    )
    ghost.subscribe([stack["requests"], stack["results"], stack["feedback"]])
    deadline = time.monotonic() + 30
    while not ghost.assignment() and time.monotonic() < deadline:
        ghost.poll(0.2)
    ghost.close()


def test_a_member_fenced_by_its_own_session_joins_again_and_answers_everything_once(
    stack: StackTopics, tmp_path: Path
) -> None:
    stack.publish(CONFIG)
    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        start_workers(launch, models(tmp_path), skip=("login-bot@3", "login-bot@1"))
        rendezvous = launch("rendezvous", "--instance", "solo")
        warm = warm_up(stack)
        fence_the_member(stack, "rdv-rendezvous-solo")
        sent = send_requests(stack.bootstrap, stack["requests"], 200, rate=40)
        ids = {r["request_id"] for r in sent}
        answers(stack, len(ids) + warm, timeout=120)
        time.sleep(2)
        per_request = answered_once(stack, ids)
        assert rendezvous.process.poll() is None, rendezvous.output()[-2000:]
        output = rendezvous.output()
    assert set(per_request) == ids and set(per_request.values()) == {1}
    assert "joining the group again" in output
    assert not [line for line in output.splitlines() if line.startswith("error:")]
    assert "Traceback" not in output


def test_a_second_instance_of_the_same_name_takes_over_and_the_first_says_why(
    stack: StackTopics, tmp_path: Path
) -> None:
    """Two instances started with one name share a transactional id: the newer one fences the
    older, which must stop with one line that says what to change, not die on a traceback or
    fence back; every request is still answered exactly once."""
    stack.publish(CONFIG)
    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        start_workers(launch, models(tmp_path), skip=("login-bot@3", "login-bot@1"))
        first = launch("rendezvous", "--instance", "same")
        warm = warm_up(stack)
        launch("rendezvous", "--instance", "same")
        sent = send_requests(stack.bootstrap, stack["requests"], 200, rate=20)
        code = first.wait(60)
        ids = {r["request_id"] for r in sent}
        answers(stack, len(ids) + warm, timeout=120)
        time.sleep(2)
        per_request = answered_once(stack, ids)
    assert set(per_request) == ids and set(per_request.values()) == {1}
    assert code != 0
    errors = [line for line in first.output().splitlines() if line.startswith("error:")]
    assert errors == [
        "error: another rendezvous runs as instance 'same' and took over its transactions: "
        "give each instance its own RDV_RENDEZVOUS_INSTANCE"
    ], first.output()[-3000:]
    assert "Traceback" not in first.output()
