"""Writing the rendezvous's output in Kafka transactions on a background thread.

A commit takes milliseconds to tens of milliseconds; if the loop waited for it, scores would
sit unread and tiers would open late. So the loop hands each turn's output to this writer and
goes on deciding; what it decides meanwhile goes into the next transaction. One transaction is
in flight at a time, so transactions commit in the order the decisions were made."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import TopicPartition as _TopicPartition

from rdv.kafka import Consumer, KafkaSettings, Outgoing, Producer
from rdv.kafka.patience import patiently

log = logging.getLogger(__name__)

# A transaction not ended after this long is stuck, not slow: every call in it has a 10 s
# timeout, yet librdkafka can block in send_offsets_to_transaction for good once the group
# coordinator moved (confluentinc/librdkafka#5456, #5511; seen here when Kafka restarts).
STUCK_AFTER_S = 20.0


def open_producer(
    bootstrap: str,
    kafka: KafkaSettings | None,
    instance: str,
    transactional: bool,
    stopping: threading.Event,
) -> Producer:
    """The rendezvous's producer; a transactional one is initialised (which fences any
    earlier producer of this instance and aborts what it left open), waiting for Kafka."""
    overrides = {"transactional.id": f"rdv-rendezvous-{instance}"} if transactional else {}
    producer = Producer(bootstrap, kafka, client_id="rdv-rendezvous", overrides=overrides)
    if transactional:
        patiently(
            lambda: producer.raw.init_transactions(30),
            "the transaction coordinator",
            stopping,
            (KafkaException,),
        )
    return producer


class TransactionalWriter:
    def __init__(
        self,
        producer: Producer,
        consumer: Consumer,
        observe: Callable[[float], None] = lambda _: None,
    ) -> None:
        self._producer, self._consumer, self._observe = producer, consumer, observe
        self._ready = threading.Condition()
        self._batch: tuple[list[Outgoing], list[_TopicPartition], Any] | None = None
        self._busy = False
        self._closed = False
        self._abandoned = False  # the batch in flight is no longer wanted: abort, report nothing
        self._since: float | None = None  # when the transaction in flight began
        self.failure: KafkaError | None = None  # set by a failed transaction, read by the loop
        self._thread = threading.Thread(target=self._run, name="rdv-transactions", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        with self._ready:
            return self._busy

    def submit(self, outgoing: list[Outgoing], offsets: list[_TopicPartition]) -> bool:
        """Start a transaction with these; False (nothing taken) while one is in flight."""
        metadata = self._consumer.raw.consumer_group_metadata() if offsets else None
        with self._ready:
            if self._busy or self._closed:
                return False
            self._batch, self._busy = (outgoing, offsets, metadata), True
            self._ready.notify_all()
        return True

    @property
    def stuck_for(self) -> float:
        """Seconds the transaction in flight has run, once past STUCK_AFTER_S; else 0."""
        since = self._since
        running = time.monotonic() - since if since is not None else 0.0
        return running if running > STUCK_AFTER_S else 0.0

    def wait_idle(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        with self._ready:
            while self._busy and time.monotonic() < deadline:
                self._ready.wait(0.05)

    def abandon(self) -> None:
        """Stop caring how the transaction in flight ends: its offsets belong to a group
        generation that is gone. It still runs to its end (librdkafka allows nothing else
        meanwhile); if it fails it is aborted and the failure is not reported, since the loop
        has already dropped what it held. No wait here: Kafka may still be away."""
        with self._ready:
            if self._busy:
                self._abandoned = True

    def retire(self) -> None:
        """Let go of this writer once a new producer has replaced its own: what is in flight is
        abandoned and no longer retried, and the thread ends when its current call returns. A
        call blocked inside librdkafka keeps the thread (and the old producer) until then."""
        with self._ready:
            self._abandoned = self._abandoned or self._busy
            self._closed = True
            self._ready.notify_all()

    def close(self) -> None:
        self.wait_idle()
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            with self._ready:
                while self._batch is None and not self._closed:
                    self._ready.wait()
                if self._batch is None:
                    return
                outgoing, offsets, metadata = self._batch
            self._since = time.monotonic()
            self._commit(outgoing, offsets, metadata)
            self._since = None
            with self._ready:
                self._batch, self._busy, self._abandoned = None, False, False
                self._ready.notify_all()

    def _commit(
        self, outgoing: list[Outgoing], offsets: list[_TopicPartition], metadata: Any
    ) -> None:
        raw = self._producer.raw
        started = time.perf_counter()
        try:
            raw.begin_transaction()
            for message in outgoing:
                self._producer.send(message)
            if offsets:
                self._again(lambda: raw.send_offsets_to_transaction(offsets, metadata, 10))
            self._again(lambda: raw.commit_transaction(-1))
            self._observe(time.perf_counter() - started)
        except KafkaException as exc:
            error = exc.args[0]
            if self._abandoned:
                log.warning("the abandoned transaction failed (%s); aborting it", error)
            else:
                log.error("transaction failed: %s", error)
            if error.txn_requires_abort():
                error = self._abort() or error
            if not self._abandoned or error.fatal():
                self.failure = error

    def _abort(self) -> KafkaError | None:
        """Abort until done (no transaction can begin before this one has ended); the error
        if the abort itself failed."""
        try:
            self._again(lambda: self._producer.raw.abort_transaction(-1))
            return None
        except KafkaException as exc:
            log.error("aborting the transaction failed: %s", exc.args[0])
            return cast(KafkaError, exc.args[0])

    def _again(self, call: Callable[[], Any]) -> None:
        again(call, give_up=lambda: self._closed)


def again(call: Callable[[], Any], give_up: Callable[[], bool]) -> None:
    """`call` until it stops failing retriably, or `give_up()`. librdkafka's rule: a retriable
    error of a transactional call (a timeout while the broker is away) means the same call
    again; anything else, even a new commit or an abort, conflicts with the one still in
    progress. Callers pass the transaction's remaining time (-1) where librdkafka recommends
    it: shorter timeouts risk desynchronising its state when a protocol request fails."""
    pause = 0.2
    while True:
        try:
            call()
            return
        except KafkaException as exc:
            error = exc.args[0]
            if not error.retriable() or give_up():
                raise
            log.warning("transaction call failed for now (%s); retrying", error)
            time.sleep(pause)
            pause = min(pause * 2, 5.0)
