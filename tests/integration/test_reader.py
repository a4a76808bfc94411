"""Reading partitions to their ends across a real broker: all of it, or an error, never part
of it without saying so (a restore cut short would answer requests a second time)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rdv.errors import RendezvousError
from rdv.kafka import Outgoing, Producer
from rdv.kafka.reader import PartitionReader, read_partitions

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
