"""Sending a chaos run's requests, and driving a fresh stack until it has settled: every
answer inside the SLA at the client and the broker's JIT done compiling."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rdv.client import RendezvousClient
from rdv_tools.bench.chaos_score import received_in_time
from rdv_tools.demo.generator import flat_features, login_requests


def send(
    client: RendezvousClient,
    request: dict[str, Any],
    sent: dict[str, float],
    received: dict[str, float],
) -> None:
    """Submit one request, noting when it went (wall clock, as answers are stamped) and, on the
    client's reader thread, when its first answer arrives."""
    future = client.submit(flat_features(request), key=request["key"])
    request_id = future.request_id
    sent[request_id] = time.time()

    def arrived(_: object) -> None:
        received.setdefault(request_id, time.time())

    future.add_done_callback(arrived)


# The broker's JIT counts as done compiling below this share of one core.
JIT_SETTLED_SHARE = 0.05


def window_settled(sent: int, on_time: int, jit_share: float) -> bool:
    """A window that sent requests, had every answer inside the SLA, and in which the
    broker's JIT compilers used under JIT_SETTLED_SHARE of a core."""
    return sent > 0 and on_time == sent and jit_share < JIT_SETTLED_SHARE


def settle(
    client: RendezvousClient,
    rate: float,
    sla_ms: int,
    timeout: float,
    window_s: float = 2.0,
    compiled: Callable[[], float] = lambda: 0.0,
    progress: Callable[[str], None] = lambda _: None,
) -> float:
    """Send at `rate` until, over one `window_s` window, every answer reached the client
    inside the SLA and the broker's JIT compilers (`compiled()`: their CPU seconds so far)
    used under JIT_SETTLED_SHARE of a core; or until `timeout`. Returns the seconds it took.
    A fresh broker compiles its hot code for a minute or more under its first load
    (docs/performance.md), and a fault is measured against a stack in its steady state, as a
    long-running one would be. One clean window alone came by chance mid-compile."""
    started = time.monotonic()
    # A list: each window sends them all again (an iterator was spent by the first window,
    # and every later, empty window counted as settled).
    requests = list(login_requests(max(1, int(rate * window_s)), seed=5))
    while time.monotonic() - started < timeout:
        sent: dict[str, float] = {}
        received: dict[str, float] = {}
        begun, jit_before = time.perf_counter(), compiled()
        for i, request in enumerate(requests):
            pause = begun + i / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            send(client, request, sent, received)
        time.sleep(sla_ms / 1000 + 0.05)
        jit_share = (compiled() - jit_before) / (time.perf_counter() - begun)
        on_time = sum(received_in_time(sent, received, sla_ms, list(sent)).values())
        progress(
            f"settling: {on_time}/{len(sent)} of the last window inside the SLA, the broker's "
            f"JIT at {jit_share:.0%} of a core ({time.monotonic() - started:.0f} s)"
        )
        if window_settled(len(sent), on_time, jit_share):
            break
    return time.monotonic() - started
