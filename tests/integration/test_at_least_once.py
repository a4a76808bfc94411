"""At-least-once delivery across a real broker: a rendezvous killed mid-load loses nothing.

Without transactions a crash may repeat answers (same request id, so a client drops the
repeat), never lose one: offsets are committed only once what they caused is delivered."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import send_requests, services
from tests.integration.stack import StackTopics
from tests.integration.test_rendezvous import (
    CONFIG,
    answers,
    models,
    start_workers,
    steady_request,
    warm_up,
)

pytestmark = pytest.mark.broker

AT_LEAST_ONCE = {"RDV_RENDEZVOUS_DELIVERY": "at_least_once"}


@pytest.fixture
def stack(kafka_bootstrap: str) -> StackTopics:
    return StackTopics(kafka_bootstrap)


def test_a_rendezvous_killed_mid_load_loses_no_answer(stack: StackTopics, tmp_path: Path) -> None:
    stack.publish(CONFIG)
    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        start_workers(launch, models(tmp_path), skip=("login-bot@3", "login-bot@1"))
        first = launch("rendezvous", **AT_LEAST_ONCE)
        warm = warm_up(stack)
        sent: list[dict[str, Any]] = []
        producer = threading.Thread(
            target=lambda: sent.extend(
                send_requests(stack.bootstrap, stack["requests"], 400, steady_request, rate=100)
            )
        )
        producer.start()
        time.sleep(2.5)  # past a commit (every second): some offsets committed, some not
        first.signal(signal.SIGKILL)
        first.wait()
        time.sleep(1.0)
        second = launch("rendezvous", **AT_LEAST_ONCE)
        producer.join()
        ids = {r["request_id"] for r in sent}
        got = answers(stack, len(ids) + warm, timeout=120)
        time.sleep(2.0)  # its last answers delivered and a commit past them
        second.signal(signal.SIGTERM)  # a clean stop commits what it answered
        assert second.wait() == 0, second.output()[-2000:]
        before = Counter(a["request_id"] for a in answers(stack, len(ids) + warm, timeout=30))
        # A third instance goes on from the second's offsets: it answers new requests and
        # none of those the second answered again.
        launch("rendezvous", **AT_LEAST_ONCE)
        fresh = {r["request_id"] for r in send_requests(stack.bootstrap, stack["requests"], 20)}
        after = Counter(a["request_id"] for a in answers(stack, len(before) + len(fresh)))
    per_request = Counter(a["request_id"] for a in got if a["request_id"] in ids)
    assert set(per_request) == ids  # nothing lost
    assert fresh <= set(after)
    assert {i: after[i] for i in ids} == {i: before[i] for i in ids}  # nothing repeated
