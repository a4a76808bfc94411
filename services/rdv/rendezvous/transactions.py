"""The rendezvous's transactional producer and its writer, replaced as one.

A new producer of the same transactional id fences the current one: before its
init_transactions returns, the coordinator aborts whatever the old one left open (or completes
its commit, if that had begun), so what the state topic says afterwards is final. That is the
way past a call blocked in librdkafka, the end of a transaction left behind by a lost
assignment, and librdkafka's rule after a fatal producer error."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from confluent_kafka import KafkaError

from rdv.errors import RendezvousError
from rdv.kafka import Consumer, KafkaSettings, Producer
from rdv.rendezvous.writer import TransactionalWriter, open_producer

log = logging.getLogger(__name__)

# A fatal error is met with a new producer, but not more often than this: a fault that comes
# straight back must stop the service loudly instead.
FATAL_LIMIT, FATAL_WINDOW_S = 3, 300.0


class Transactions:
    def __init__(
        self,
        bootstrap: str,
        kafka: KafkaSettings | None,
        instance: str,
        stopping: threading.Event,
        observe: Callable[[float], None],
    ) -> None:
        self._bootstrap, self._kafka, self._instance = bootstrap, kafka, instance
        self._stopping, self._observe = stopping, observe
        # Opened before anything is read, so the previous incarnation's open transaction has
        # ended before this one restores its state.
        self.producer: Producer = self._open()
        self._consumer: Consumer | None = None
        self._writer: TransactionalWriter | None = None
        self._fatal_at: list[float] = []  # when fatal errors were met with a new producer

    def attach(self, consumer: Consumer) -> None:
        """Start writing; offsets are committed for this consumer's group."""
        self._consumer = consumer
        self._writer = TransactionalWriter(self.producer, consumer, self._observe)

    @property
    def writer(self) -> TransactionalWriter:
        assert self._writer is not None, "attach a consumer first"
        return self._writer

    def replace(self, why: str) -> None:
        assert self._consumer is not None
        log.warning("replacing the transactional producer: %s", why)
        self.writer.retire()
        self.producer = self._open()
        self._writer = TransactionalWriter(self.producer, self._consumer, self._observe)

    def check_fatal(self, error: KafkaError) -> None:
        check_fatal(error, self._instance, self._fatal_at, time.monotonic())

    def stuck_reason(self) -> str:
        return (
            f"its transaction has not ended in {self.writer.stuck_for:.0f} s (a known "
            "librdkafka hang after the group coordinator moves)"
        )

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def _open(self) -> Producer:
        return open_producer(self._bootstrap, self._kafka, self._instance, True, self._stopping)


def check_fatal(error: KafkaError, instance: str, fatal_at: list[float], now: float) -> None:
    """Raise if a fatal error is not one a new producer can mend: another instance took this
    transactional id, or fatal errors come back to back. Records `now` in `fatal_at`."""
    if error.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED):
        raise RendezvousError(
            f"another rendezvous runs as instance {instance!r} and took over its "
            "transactions: give each instance its own RDV_RENDEZVOUS_INSTANCE"
        )
    fatal_at[:] = [t for t in fatal_at if now - t < FATAL_WINDOW_S] + [now]
    if len(fatal_at) > FATAL_LIMIT:
        raise RendezvousError(
            f"the transactional producer failed for good {len(fatal_at)} times in "
            f"{FATAL_WINDOW_S:.0f} s, the last time with: {error}"
        )
