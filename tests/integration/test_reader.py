"""Reading partitions to their ends across a real broker: all of it, or an error, never part
of it without saying so (a restore cut short would answer requests a second time)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from confluent_kafka import Producer as _Producer

from rdv.errors import RendezvousError
from rdv.kafka import Outgoing, Producer
from rdv.kafka.reader import PartitionReader, read_partitions
from rdv.kafka.settings import KafkaSettings

pytestmark = [pytest.mark.broker, pytest.mark.parallel]


def _fill(bootstrap: str, topic: str, partitions: int, per_partition: int) -> None:
    producer = Producer(bootstrap)
    for partition in range(partitions):
        for i in range(per_partition):
            producer.send(Outgoing(topic, f"{partition}-{i}".encode(), partition=partition))
    producer.flush(30)


def test_every_partition_is_read_to_its_end(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(3, "read")
    _fill(kafka_bootstrap, topic, 3, 200)
    messages = read_partitions(kafka_bootstrap, topic, [0, 2])
    values = sorted((m.value or b"").decode() for m in messages)
    assert values == sorted(f"{p}-{i}" for p in (0, 2) for i in range(200))


def test_a_read_ends_where_committed_records_end_not_at_an_open_transaction(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    """A restore reads what is committed and must not wait for a transaction still open
    (its ends are the partitions' last stable offsets, asked for all of them at once)."""
    topic = new_topic(3, "read")
    _fill(kafka_bootstrap, topic, 3, 20)
    open_ = _Producer({"bootstrap.servers": kafka_bootstrap, "transactional.id": topic})
    open_.init_transactions(30)
    open_.begin_transaction()
    open_.produce(topic, b"open", partition=1)
    assert open_.flush(10) == 0
    try:
        began = time.monotonic()
        messages = read_partitions(kafka_bootstrap, topic, [0, 1, 2], timeout=10)
        assert time.monotonic() - began < 5
        values = sorted((m.value or b"").decode() for m in messages)
        assert values == sorted(f"{p}-{i}" for p in range(3) for i in range(20))
    finally:
        open_.abort_transaction(30)


def test_a_read_that_cannot_reach_the_end_in_time_says_so(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(1, "read")
    _fill(kafka_bootstrap, topic, 1, 50)
    reader = PartitionReader(kafka_bootstrap, topic)
    try:
        with pytest.raises(RendezvousError, match=rf"could not read {topic} to its end"):
            reader.read_to_end(timeout=0)
        assert len(reader.read_to_end()) == 50  # what it could not read is still there
    finally:
        reader.close()


def test_a_reader_learns_where_its_partition_is_before_it_starts_reading(
    kafka_bootstrap: str, new_topic: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    """A partition assigned before its leader is known waits out librdkafka's fixed 500 ms
    offset query retry: every schema look-up by a reader that met a new client's first
    request took 0.51 s, and in CI one took over a second, so the champion's scores came
    after the fallback's. librdkafka logs that wait; it must not happen."""
    topic = new_topic(1, "read")
    _fill(kafka_bootstrap, topic, 1, 5)
    debug = KafkaSettings(extra={"debug": "topic"})
    with caplog.at_level(logging.DEBUG, logger="rdv.kafka.librdkafka"):
        reader = PartitionReader(kafka_bootstrap, topic, settings=debug)
        try:
            assert len(reader.read_to_end()) == 5
        finally:
            reader.close()
    logged = caplog.text
    assert "Start consuming" in logged  # the debug log was captured at all
    assert "no current leader for partition" not in logged
