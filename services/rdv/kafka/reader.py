"""Reading one partition by explicit assignment, outside any consumer group: for compacted
state that every instance reads whole (the rollout config) or restores (mailbox state)."""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException
from confluent_kafka import Consumer as _Consumer
from confluent_kafka import TopicPartition as _TopicPartition

from rdv.errors import RendezvousError
from rdv.kafka.consumer import take_batch
from rdv.kafka.envelopes import Message
from rdv.kafka.new_client import new_client
from rdv.kafka.retry import NEW_TOPIC, kafka_retriable, retry
from rdv.kafka.settings import CONSUMER_LATENCY_DEFAULTS, KafkaSettings

# Errors of a topic created a moment ago, whose leader the client has not learnt yet, or
# has learnt before the broker did: "leader epoch is newer than broker epoch" failed a
# `rdv bench soak` in CI reading the config topic it had just created.
_NOT_READY_YET = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError.UNKNOWN_LEADER_EPOCH,
    KafkaError.FENCED_LEADER_EPOCH,
}
not_ready_yet = kafka_retriable(*_NOT_READY_YET)


# How long a reader waits to learn where its partition is before assigning it anyway.
_LEADER_WAIT_S = 5.0

# How long a read to the end waits for more before it looks at its positions again.
READ_WAIT_S = 0.01


# ListOffsets' timestamp for a partition's end: the last stable offset for a read_committed
# client, as `get_watermark_offsets` gives it.
_LATEST = -1


def _end_offsets(
    consumer: _Consumer, topic: str, partitions: list[int], timeout: float
) -> dict[int, int]:
    """The ends of these partitions in one request per leader: asked one by one they took
    20-27 ms of a take-over's restore of six (4 ms each here), together 1-2 ms. Retried
    while a just-created topic has no leader yet."""
    deadline = time.monotonic() + timeout

    def ask() -> dict[int, int]:
        found = consumer.offsets_for_times(
            [_TopicPartition(topic, p, _LATEST) for p in partitions], timeout=timeout
        )
        for tp in found:
            if tp.error is not None:
                raise KafkaException(tp.error)
        return {tp.partition: tp.offset for tp in found}

    try:
        return retry(
            ask,
            NEW_TOPIC,
            not_ready_yet,
            give_up=lambda: time.monotonic() > deadline,
            what=f"the ends of {topic}",
        )
    except KafkaException as exc:
        raise RendezvousError(f"cannot read {topic}: {exc}") from exc


def _end_offset(consumer: _Consumer, tp: _TopicPartition, timeout: float) -> int:
    """A partition's end (see `_end_offsets`)."""
    return _end_offsets(consumer, tp.topic, [tp.partition], timeout)[tp.partition]


def _reader_config(
    bootstrap: str, settings: KafkaSettings | None, committed_only: bool = True
) -> dict[str, Any]:
    """A consumer outside any group: assigned partitions, nothing committed; committed
    transactions only unless `committed_only` is False."""
    return {
        **(settings or KafkaSettings()).client_config(bootstrap),
        **CONSUMER_LATENCY_DEFAULTS,
        # A group id is required by the client but never used: nothing is committed.
        "group.id": f"rdv-reader-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "isolation.level": "read_committed" if committed_only else "read_uncommitted",
        "logger": logging.getLogger("rdv.kafka.librdkafka"),
        **(settings or KafkaSettings()).extra,
    }


def _read_to_ends(
    consumer: _Consumer, topic: str, ends: dict[int, int], timeout: float
) -> list[Message]:
    """What an assigned consumer reads of `topic` until each partition reaches its end."""
    pending = {p for p, end in ends.items() if end > 0}
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        batch = take_batch(consumer, 500, READ_WAIT_S)
        messages += batch
        # Transactions' markers and aborted records leave gaps: a partition written in
        # transactions ends past its last message, so only its position (known locally, no
        # request) says when it is done. Waiting for an empty poll to ask cost every restore
        # one whole poll timeout (100 ms then; a restore took 0.3 s in a rolling upgrade).
        positions = consumer.position([_TopicPartition(topic, p) for p in pending])
        pending -= {tp.partition for tp in positions if tp.offset >= ends[tp.partition]}
    if pending:
        # Part of a read is worse than none: a restore short of its end would forget answers
        # already given, and answer their requests again. Callers retry or give up.
        raise RendezvousError(
            f"could not read {topic} to its end within {timeout:g} s "
            f"(partitions {sorted(pending)} unfinished): is the broker overloaded?"
        )
    return messages


class PartitionReader:
    def __init__(
        self,
        bootstrap: str,
        topic: str,
        partition: int = 0,
        settings: KafkaSettings | None = None,
        start: int = OFFSET_BEGINNING,
    ) -> None:
        config = _reader_config(bootstrap, settings)
        self.topic, self.partition = topic, partition
        self._consumer = new_client(_Consumer, config)
        tp = _TopicPartition(topic, partition)
        # Asked first so that the partition's leader is known when it is assigned: a logical
        # start assigned before that waits out librdkafka's fixed 500 ms offset query retry
        # (every schema look-up and config read took 0.51 s; after, 20-34 ms). A topic not
        # there yet is told by the read that follows, or waited for by its caller.
        with contextlib.suppress(KafkaException):
            self._consumer.get_watermark_offsets(tp, timeout=_LEADER_WAIT_S)
        self._consumer.assign([_TopicPartition(topic, partition, start)])

    def end_offset(self, timeout: float = 10.0) -> int:
        return _end_offset(self._consumer, _TopicPartition(self.topic, self.partition), timeout)

    def group_metadata(self) -> Any:
        """Its group's metadata from outside the group (generation -1, never joined), which a
        transaction may carry offsets under without a member check."""
        return self._consumer.consumer_group_metadata()

    def poll(self, timeout: float = 0.0, max_messages: int = 500) -> list[Message]:
        return take_batch(self._consumer, max_messages, timeout)

    def read_to_end(self, timeout: float = 30.0) -> list[Message]:
        """Everything up to the end as it is now (committed transactions only); a
        RendezvousError while Kafka cannot answer, or the end is not reached in `timeout`."""
        try:
            ends = {self.partition: self.end_offset()}
            return _read_to_ends(self._consumer, self.topic, ends, timeout)
        except KafkaException as exc:
            raise RendezvousError(f"cannot read {self.topic}: {exc}") from exc

    def close(self) -> None:
        self._consumer.close()


def read_partitions(
    bootstrap: str,
    topic: str,
    partitions: list[int],
    settings: KafkaSettings | None = None,
    timeout: float = 30.0,
) -> list[Message]:
    """Every committed message of these partitions, up to their ends as they are now, with one
    client: a restore of many partitions pays for one connection, not one each (0.5 s apiece
    here). A RendezvousError while Kafka cannot answer, or the ends are not reached in
    `timeout`."""
    consumer = new_client(_Consumer, _reader_config(bootstrap, settings))
    try:
        ends = _end_offsets(consumer, topic, partitions, timeout)
        consumer.assign([_TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        return _read_to_ends(consumer, topic, ends, timeout)
    except KafkaException as exc:
        raise RendezvousError(f"cannot read {topic}: {exc}") from exc
    finally:
        consumer.close()


class TopicTail:
    """Every partition of a topic from its current end on, positions fixed before returning,
    so nothing written after construction can be missed (clients awaiting answers). With
    `committed_only=False` it sees records of open transactions as soon as they are written,
    and of aborted ones too: a reader that wants one reply per request keeps the first."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        settings: KafkaSettings | None = None,
        timeout: float = 30.0,
        committed_only: bool = True,
    ) -> None:
        config = _reader_config(bootstrap, settings, committed_only)
        self._consumer = new_client(_Consumer, config)
        metadata = self._consumer.list_topics(topic, timeout=timeout)
        info = metadata.topics.get(topic)
        if info is None or info.error is not None or not info.partitions:
            raise RendezvousError(f"topic {topic} does not exist: run `rdv topics create`")
        assignment = []
        for partition in sorted(info.partitions):
            high = _end_offset(self._consumer, _TopicPartition(topic, partition), timeout)
            assignment.append(_TopicPartition(topic, partition, high))
        self._consumer.assign(assignment)

    def poll(self, timeout: float = 0.1, max_messages: int = 500) -> list[Message]:
        return take_batch(self._consumer, max_messages, timeout)

    def close(self) -> None:
        self._consumer.close()
