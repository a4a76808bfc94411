"""Sending archived requests again, byte for byte, marked as a replay."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from rdv.codec.replay import REPLAY
from rdv.kafka import Outgoing, Producer
from rdv_tools.replay.archived import ArchivedRequest


def replay(
    bootstrap: str,
    requests: Iterable[ArchivedRequest],
    topic: str,
    run: str,
    rate: float | None = None,
    on_sent: Callable[[], None] | None = None,
) -> int:
    """Send each request with its archived key, value and headers and the `rdv-replay`
    header naming the run, at `rate` per second (as fast as the broker takes them without
    one). Returns how many were sent; all are acknowledged when it returns."""
    producer = Producer(bootstrap, client_id="rdv-replay")
    mark = (REPLAY, run.encode())
    started, sent = time.monotonic(), 0
    try:
        for request in requests:
            if rate:
                pause = started + sent / rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            # A request replayed before is marked by this run alone.
            headers = (*(h for h in request.headers if h[0] != REPLAY), mark)
            producer.send(Outgoing(topic, request.value, request.key, headers))
            sent += 1
            if on_sent is not None:
                on_sent()
        producer.flush()
    finally:
        producer.close()
    return sent
