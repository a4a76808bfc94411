"""`rdv bench e2e`'s driver puts each answer received past the SLA down to the rendezvous
(decided late) or to what follows the decision (held after it)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from typing import Any

from rdv_tools.bench.e2e import drive
from rdv_tools.demo.generator import login_requests

SLA_MS = 50


class ScriptedStack:
    """Answers each request after `took_ms`, saying the rendezvous decided it after
    `decided_ms`: the times a real stack's answers carry, in the order given."""

    def __init__(self, script: list[tuple[int, int]]) -> None:
        self._script = iter(script)

    def submit(self, features: dict[str, Any], key: str | None = None) -> Future[Any]:
        took_ms, decided_ms = next(self._script)
        future: Future[Any] = Future()
        created_ms = int(time.time() * 1000)
        # Decided `decided_ms` after the request's creation; read by the rendezvous just
        # before it decided (latency_us, from the read, is no part of the split).
        answer = {
            "reason": "preferred",
            "request_created_at": created_ms,
            "answered_at": (created_ms + decided_ms) * 1000,
            "latency_us": 0,
        }
        if took_ms:
            threading.Timer(took_ms / 1000, future.set_result, [answer]).start()
        else:  # answered before the driver looks: inside the SLA however busy the machine
            future.set_result(answer)
        return future

    def poll(self) -> None:
        pass

    def flush(self) -> None:
        pass


def test_late_answers_are_split_into_decided_late_and_held_after_the_decision() -> None:
    # Two in time; one decided in time and held past the SLA; one decided past it.
    script = [(0, 3), (0, 4), (120, 8), (130, 90)]
    result = drive(ScriptedStack(script), 40, 0.1, SLA_MS, lambda n: login_requests(n, seed=1))
    assert result.sent == result.answered == 4
    assert result.sla_met == 0.5
    assert (result.late_decided, result.late_after_decision) == (1, 1)
    assert result.after_decision is not None
    assert result.after_decision.p99_ms >= 100  # the held one (120 ms less 8) leads the tail
