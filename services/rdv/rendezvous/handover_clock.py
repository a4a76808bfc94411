"""The steps of a rendezvous's start or take-over, each timed from the moment it starts to serve
(the old instance's exit, in a take-over), logged for whoever tunes a hand-over's pause
(docs/operations.md)."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("rdv.rendezvous.service")


class HandOverClock:
    def __init__(self) -> None:
        self._since = time.monotonic()
        self._answered = False

    def start(self) -> None:
        """It starts to serve now: the instance it replaced has exited."""
        self._since = time.monotonic()
        self._answered = False

    def since(self) -> float:
        return time.monotonic() - self._since

    def producer_ready(self) -> None:
        log.info("producer ready %.3f s after starting to serve", self.since())

    def restored(self, owned: list[int], began: float, count: int) -> None:
        """Partitions `owned` assigned at `began` (monotonic), their `count` mailboxes restored."""
        log.info(
            "assigned partitions %s %.3f s after starting to serve; restored %d mailboxes in "
            "%.3f s",
            owned,
            began - self._since,
            count,
            time.monotonic() - began,
        )

    def answered(self) -> None:
        """An answer was decided; the first one after a start is logged: the hand-over's
        whole pause, as this instance sees it."""
        if not self._answered:
            self._answered = True
            log.info("first answer decided %.3f s after starting to serve", self.since())
