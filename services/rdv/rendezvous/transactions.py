"""The rendezvous's transactional producer and its writer, replaced as one.

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

import logging
import threading
import time
from collections.abc import Callable

from confluent_kafka import Consumer as _Consumer
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import TopicPartition as _TopicPartition

from rdv.errors import RendezvousError
from rdv.kafka import Consumer, KafkaSettings, Producer
from rdv.kafka.patience import patiently
from rdv.rendezvous.settings import RendezvousServiceSettings
from rdv.rendezvous.writer import TransactionalWriter, again, open_producer

log = logging.getLogger(__name__)

# A fatal error is met with a new producer, but not more often than this: a fault that comes
# straight back must stop the service loudly instead.
FATAL_LIMIT, FATAL_WINDOW_S = 3, 300.0


class Transactions:
    def __init__(
        self,
        bootstrap: str,
        kafka: KafkaSettings | None,
        settings: RendezvousServiceSettings,
        stopping: threading.Event,
        observe: Callable[[float], None],
    ) -> None:
        self._bootstrap, self._kafka, self._s = bootstrap, kafka, settings
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
        check_fatal(error, self._s.instance, self._fatal_at, time.monotonic())

    def stuck_reason(self) -> str:
        return (
            f"its transaction has not ended in {self.writer.stuck_for:.0f} s (a known "
            "librdkafka hang after the group coordinator moves)"
        )

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def _open(self) -> Producer:
        producer = open_producer(
            self._bootstrap, self._kafka, self._s.instance, True, self._stopping
        )
        patiently(
            lambda: self._end_leftovers(producer),
            "the transaction coordinator",
            self._stopping,
            (KafkaException,),
        )
        return producer

    def _end_leftovers(self, producer: Producer) -> None:
        """Begin a transaction on every partition this producer may write and on the group's
        offsets, then abort it (see the module's docstring)."""
        s, raw = self._s, producer.raw
        metadata = raw.list_topics(timeout=10)
        raw.begin_transaction()
        try:
            for topic in (s.answers_topic, s.log_topic, s.state_topic, s.dead_letters_topic):
                info = metadata.topics.get(topic)
                if info is None or info.error is not None:
                    raise RendezvousError(f"topic {topic} does not exist: run `rdv topics create`")
                for partition in info.partitions:
                    raw.produce(topic, value=None, key=b"rdv-leftovers", partition=partition)
            # Only records sent make their partitions part of the transaction.
            if raw.flush(10):
                raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "leftovers not sent"))
            config = (self._kafka or KafkaSettings()).client_config(self._bootstrap)
            group = _Consumer({**config, "group.id": s.group_id})
            try:
                # From outside the group (generation -1), which the coordinator takes without a
                # member check; the abort discards these offsets anyway.
                offsets = [_TopicPartition(s.requests_topic, 0, 0)]
                raw.send_offsets_to_transaction(offsets, group.consumer_group_metadata(), 10)
            finally:
                group.close()
        finally:
            again(lambda: raw.abort_transaction(30), give_up=self._stopping.is_set)


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
