"""Asking Kafka again while it is away (restarting, electing a coordinator)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


def patiently(
    call: Callable[[], T],
    what: str,
    stopping: threading.Event,
    errors: tuple[type[BaseException], ...],
) -> T:
    """`call()` until it stops raising `errors`, with backoff from 0.5 s to 5 s; gives up
    (re-raising) only once `stopping` is set."""
    pause = 0.5
    while True:
        try:
            return call()
        except errors as exc:
            if stopping.is_set():
                raise
            log.warning("%s not available yet (%s); retrying", what, exc)
            stopping.wait(pause)
            pause = min(pause * 2, 5.0)
