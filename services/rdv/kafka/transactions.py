"""A transactional producer and its writer, replaced as one.

A new producer of the same transactional id fences the current one: before its
init_transactions returns, the coordinator aborts whatever the old one left open (or completes
its commit, if that had begun), so what the state topic says afterwards is final. That is the
way past a call blocked in librdkafka, the end of a transaction left behind by a lost
assignment, and librdkafka's rule after a fatal producer error.

One case the coordinator cannot end: a transaction whose records reached a partition while
Kafka was shutting down, but which the coordinator no longer knows after its restart. Its
records hold that partition's last stable offset back for good, and its pending offsets make
every read_committed fetch of the group's committed offsets wait for good: the rendezvous
would take its partitions back and read nothing. So each new producer first runs one
transaction that touches every partition it may write, and the group's offsets, and aborts
it: the abort marker of the new epoch ends, as aborted, whatever the same producer id left
open there."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from confluent_kafka import Consumer as _Consumer
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import TopicPartition as _TopicPartition
from confluent_kafka.admin._metadata import ClusterMetadata

from rdv.errors import RendezvousError
from rdv.kafka.consumer import Consumer
from rdv.kafka.new_client import new_client
from rdv.kafka.producer import Producer
from rdv.kafka.retry import KAFKA_AWAY, again, fatal_error, patiently, until_fatal
from rdv.kafka.settings import KafkaSettings
from rdv.kafka.writers import TransactionalWriter

log = logging.getLogger(__name__)

# librdkafka retries a transactional request the coordinator is not ready for (the previous
# EndTxn still writing its markers: CONCURRENT_TRANSACTIONS) after retry.backoff.ms, 100 ms by
# default, which put ~100 ms on every commit (measured: one transaction with offsets, p50 108
# ms at the default, 9 ms at 5 ms). Backoff still grows to retry.backoff.max.ms in an outage.
TRANSACTIONAL_DEFAULTS = {"retry.backoff.ms": 5}
# New producers tried in a row when each fails for good while ending the left-overs.
OPEN_ATTEMPTS = 5


def _cannot_start(transactional_id: str, error: KafkaError) -> RendezvousError:
    hint = ""
    if error.code() == KafkaError.INVALID_TRANSACTION_TIMEOUT:
        hint = (
            ": lower the transaction timeout (RDV_RENDEZVOUS_TRANSACTION_TIMEOUT_MS for the "
            "rendezvous) or raise the brokers' transaction.max.timeout.ms"
        )
    return RendezvousError(
        f"the transactional producer {transactional_id} cannot start: {error.str()}{hint}"
    )


def connected_producer(
    bootstrap: str,
    kafka: KafkaSettings | None,
    client_id: str,
    transactional_id: str | None,
    transaction_timeout_ms: int | None = None,
) -> Producer:
    """A producer; a transactional one connected to the cluster, not yet initialised: it fences
    nobody until `open_producer` initialises it, so it can be made while the instance it
    replaces still runs.

    Connected first, its initialisation took 3-16 ms in 10 of 10 trials here. Made and
    initialised at once, it took 0.5 s in 3 of 10 and 5 of 10 of two sets of trials
    (librdkafka 2.16): its first coordinator query went to the bootstrap broker's handle,
    dropped once the metadata named the broker, and the query waits out a fixed 500 ms
    before it is asked again."""
    if not transactional_id:
        return Producer(bootstrap, kafka, client_id=client_id)
    producer, _ = _transactional_producer(
        bootstrap, kafka, client_id, transactional_id, transaction_timeout_ms
    )
    return producer


def _transactional_producer(
    bootstrap: str,
    kafka: KafkaSettings | None,
    client_id: str,
    transactional_id: str,
    transaction_timeout_ms: int | None,
) -> tuple[Producer, ClusterMetadata | None]:
    """A transactional producer, connected, and the metadata its connection fetched."""
    overrides: dict[str, Any] = {"transactional.id": transactional_id, **TRANSACTIONAL_DEFAULTS}
    if transaction_timeout_ms:
        overrides["transaction.timeout.ms"] = transaction_timeout_ms
    producer = Producer(bootstrap, kafka, client_id=client_id, overrides=overrides)
    return producer, _connect(producer)


def _connect(producer: Producer) -> ClusterMetadata | None:
    """The cluster's metadata, asked to connect the producer; None while Kafka is away
    (initialising waits for it)."""
    with contextlib.suppress(KafkaException):
        return cast(ClusterMetadata, producer.raw.list_topics(timeout=10))
    return None


@dataclass
class Standby:
    """What a transactional instance needs to take over, made while the one it replaces still
    runs: its producer, connected but not initialised (it fences nobody yet), the cluster's
    metadata, and the consumer that ends the left-over offsets, its group's coordinator
    found. Found after the take-over, the coordinator and the metadata were 0.07 s of the
    left-overs' 0.09 s in a rolling upgrade's hand-over (measured on an idle broker: 0.06 s
    and 0.012 s)."""

    producer: Producer
    metadata: ClusterMetadata | None = None
    group: _Consumer | None = None

    def close(self) -> None:
        self.release_group()
        self.producer.close()

    def release_group(self) -> None:
        if self.group is not None:
            self.group.close()
            self.group = None


def standby(
    bootstrap: str,
    kafka: KafkaSettings | None,
    client_id: str,
    transactional_id: str,
    group_id: str,
    offsets_topic: str,
    transaction_timeout_ms: int | None = None,
) -> Standby:
    """A `Standby`; where Kafka does not answer, what it could not prepare is done again at
    the take-over."""
    ready = Standby(
        *_transactional_producer(
            bootstrap, kafka, client_id, transactional_id, transaction_timeout_ms
        )
    )
    if ready.metadata is not None:
        with contextlib.suppress(KafkaException):
            ready.group = _leftovers_group(bootstrap, kafka, group_id, offsets_topic)
    return ready


def _leftovers_group(
    bootstrap: str, kafka: KafkaSettings | None, group_id: str, offsets_topic: str
) -> _Consumer:
    """A consumer of the group, outside it, its coordinator found. read_uncommitted: a
    read_committed fetch of the offsets would wait on the very left-over offsets it ends."""
    config = (kafka or KafkaSettings()).client_config(bootstrap)
    group = new_client(
        _Consumer, {**config, "group.id": group_id, "isolation.level": "read_uncommitted"}
    )
    try:
        # Found first, outside the transaction: on a broker that never had a group (so no
        # __consumer_offsets yet), send_offsets_to_transaction blocked for good here, past
        # its timeout, and the rendezvous never started.
        group.committed([_TopicPartition(offsets_topic, 0)], timeout=10)
    except BaseException:
        group.close()
        raise
    return group


def open_producer(
    bootstrap: str,
    kafka: KafkaSettings | None,
    client_id: str,
    transactional_id: str | None,
    stopping: threading.Event,
    transaction_timeout_ms: int | None = None,
    connected: Producer | None = None,
) -> Producer:
    """A producer (`connected`, if one was made already); a transactional one (with
    `transactional_id`) is initialised, which fences any earlier producer of that id and
    aborts what it left open, waiting for Kafka."""
    producer = connected or connected_producer(
        bootstrap, kafka, client_id, transactional_id, transaction_timeout_ms
    )
    if transactional_id:
        until_fatal(
            lambda: producer.raw.init_transactions(30),
            "the transaction coordinator",
            stopping,
            functools.partial(_cannot_start, transactional_id),
        )
    return producer


class Transactions:
    """The transactional producer of one instance (`transactional_id`), which writes `topics`
    and commits the offsets of `group_id`'s consumer; `offsets_topic` is a topic that group
    reads, used to end left-over offsets."""

    def __init__(
        self,
        bootstrap: str,
        kafka: KafkaSettings | None,
        transactional_id: str,
        group_id: str,
        topics: list[str],
        offsets_topic: str,
        stopping: threading.Event,
        observe: Callable[[float], None],
        client_id: str = "rdv",
        timeout_ms: int | None = None,
        ready: Standby | None = None,
    ) -> None:
        self._bootstrap, self._kafka, self._id = bootstrap, kafka, transactional_id
        self._timeout_ms = timeout_ms
        self._group_id, self._topics, self._offsets_topic = group_id, topics, offsets_topic
        self._stopping, self._observe, self._client_id = stopping, observe, client_id
        # Opened before anything is read, so the previous incarnation's open transaction has
        # ended before this one restores its state.
        self.producer: Producer = self._open(ready)
        self._consumer: Consumer | None = None
        self._writer: TransactionalWriter | None = None

    def attach(self, consumer: Consumer) -> None:
        """Start writing; offsets are committed for this consumer's group. Attached again
        (a consumer that replaced a fenced one), the last writer is closed first."""
        if self._writer is not None:
            self._writer.close()
        self._consumer = consumer
        self._writer = self._new_writer()

    @property
    def writer(self) -> TransactionalWriter:
        assert self._writer is not None, "attach a consumer first"
        return self._writer

    def replace(self, why: str) -> None:
        assert self._consumer is not None
        log.warning("replacing the transactional producer: %s", why)
        self.writer.retire()
        self.producer = self._open()
        self._writer = self._new_writer()

    def _new_writer(self) -> TransactionalWriter:
        assert self._consumer is not None
        # librdkafka's own default where transaction.timeout.ms is not set
        timeout_s = (self._timeout_ms or 60_000) / 1000
        return TransactionalWriter(self.producer, self._consumer, self._observe, timeout_s)

    def stuck_reason(self) -> str:
        return (
            f"its transaction has not ended in {self.writer.stuck_for:.0f} s (a known "
            "librdkafka hang after the group coordinator moves)"
        )

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def _open(self, ready: Standby | None = None) -> Producer:
        for attempt in range(1, OPEN_ATTEMPTS + 1):
            began = time.monotonic()
            if attempt > 1:
                ready = None
            try:
                producer = open_producer(
                    self._bootstrap,
                    self._kafka,
                    self._client_id,
                    self._id,
                    self._stopping,
                    self._timeout_ms,
                    ready.producer if ready else None,
                )
            except BaseException:
                if ready is not None:
                    ready.release_group()  # the left-overs never began
                raise
            initialised = time.monotonic()
            try:
                steps = patiently(
                    functools.partial(self._end_leftovers, producer, ready),
                    "the transaction coordinator",
                    self._stopping,
                    (KafkaException,),
                )
                log.info(
                    "transactional producer %s initialised in %.3f s, left-overs ended in %.3f s "
                    "(%s)",
                    self._id,
                    initialised - began,
                    time.monotonic() - initialised,
                    steps,
                )
                return producer
            except KafkaException as exc:
                error = fatal_error(exc)
                if error is None:
                    raise
                # Spent: the leftovers' own transaction outlived its timeout (Kafka bumped
                # the epoch, which librdkafka reports as fenced), or a producer of this id
                # started meanwhile. The next one fences that in turn.
                with contextlib.suppress(RendezvousError, KafkaException):
                    producer.close(1.0)
                log.warning(
                    "the new transactional producer failed for good (%s); opening another", error
                )
                if attempt < OPEN_ATTEMPTS and not self._stopping.wait(
                    KAFKA_AWAY.first_s * attempt
                ):
                    continue
                if self._stopping.is_set():
                    raise RendezvousError(
                        f"stopped while starting the transactional producer {self._id}, after "
                        f"it failed with: {error.str()}"
                    ) from exc
                raise RendezvousError(
                    f"the transactional producer {self._id} failed for good {attempt} "
                    f"times while starting, the last time with: {error.str()}"
                ) from exc
        raise AssertionError("unreachable")

    def _end_leftovers(self, producer: Producer, ready: Standby | None) -> str:
        """Begin a transaction on every partition this producer may write and on the group's
        offsets, then abort it (see the module's docstring). What `ready` prepared is used
        once: a retry asks Kafka again. Returns how long each step took."""
        clock = _StepClock()
        raw = producer.raw
        metadata = ready.metadata if ready and ready.metadata else raw.list_topics(timeout=10)
        group = ready.group if ready and ready.group else None
        if ready is not None:
            ready.metadata = ready.group = None
        if group is None:
            group = _leftovers_group(
                self._bootstrap, self._kafka, self._group_id, self._offsets_topic
            )
        clock.step("coordinator")
        try:
            raw.begin_transaction()
            try:
                for topic in self._topics:
                    info = metadata.topics.get(topic)
                    if info is None or info.error is not None:
                        raise RendezvousError(
                            f"topic {topic} does not exist: run `rdv topics create`"
                        )
                    for partition in info.partitions:
                        raw.produce(topic, value=None, key=b"rdv-leftovers", partition=partition)
                # Only records sent make their partitions part of the transaction.
                if raw.flush(10):
                    raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "leftovers not sent"))
                clock.step("sent")
                # From outside the group (generation -1), which the coordinator takes without
                # a member check; the abort discards these offsets anyway.
                offsets = [_TopicPartition(self._offsets_topic, 0, 0)]
                raw.send_offsets_to_transaction(offsets, group.consumer_group_metadata(), 10)
                clock.step("offsets")
            finally:
                again(lambda: raw.abort_transaction(30), give_up=self._stopping.is_set)
                clock.step("aborted")
        finally:
            group.close()
        return str(clock)


class _StepClock:
    """Seconds each named step took, in order."""

    def __init__(self) -> None:
        self._last = time.monotonic()
        self._steps: list[str] = []

    def step(self, name: str) -> None:
        now = time.monotonic()
        self._steps.append(f"{name} {now - self._last:.3f} s")
        self._last = now

    def __str__(self) -> str:
        return ", ".join(self._steps)
