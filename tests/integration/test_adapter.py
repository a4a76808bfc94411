"""The Kafka adapter across a real broker."""

import time
from collections.abc import Callable

import pytest

from rdv.codec import Codec
from rdv.dead_letters import dead_letter
from rdv.kafka import (
    Consumer,
    DeliveryError,
    Message,
    Outgoing,
    Producer,
    TopicPartition,
)

pytestmark = [pytest.mark.broker, pytest.mark.parallel]
CODEC = Codec()


def consume(consumer: Consumer, expected: int, timeout: float = 30.0) -> list[Message]:
    got: list[Message] = []
    deadline = time.monotonic() + timeout
    while len(got) < expected and time.monotonic() < deadline:
        got += consumer.poll_batch(expected - len(got), 0.2)
    return got


def test_envelopes_carry_key_value_headers_and_position(
    kafka_bootstrap: str, new_topic: Callable[..., str], group_id: str
) -> None:
    topic = new_topic(partitions=3)
    producer = Producer(kafka_bootstrap)
    producer.send(
        Outgoing(topic, b"v", b"k", headers=(("model", b"m@1"), ("empty", None)), partition=2)
    )
    producer.flush()
    consumer = Consumer(kafka_bootstrap, group_id, [topic])
    try:
        [msg] = consume(consumer, 1)
    finally:
        consumer.close()
    assert (msg.topic, msg.partition, msg.offset) == (topic, 2, 0)
    assert (msg.key, msg.value) == (b"k", b"v")
    assert msg.header("model") == b"m@1" and msg.header("empty") is None
    assert abs(msg.timestamp_ms - time.time() * 1000) < 60_000


def test_only_stored_offsets_are_committed(
    kafka_bootstrap: str, new_topic: Callable[..., str], group_id: str
) -> None:
    """A consumer that dies after storing half its batch hands the rest to the next one:
    what was read but not marked done is read again, never lost."""
    topic = new_topic()
    producer = Producer(kafka_bootstrap)
    for i in range(10):
        producer.send(Outgoing(topic, str(i).encode()))
    producer.flush()

    first = Consumer(kafka_bootstrap, group_id, [topic])
    batch = consume(first, 10)
    assert [m.value for m in batch] == [str(i).encode() for i in range(10)]
    first.store(batch[:4])  # only the first four were "durably handled"
    first.commit()
    first.close()

    second = Consumer(kafka_bootstrap, group_id, [topic])
    try:
        rest = consume(second, 6)
    finally:
        second.close()
    assert [m.value for m in rest] == [str(i).encode() for i in range(4, 10)]


def test_rebalance_hooks_see_the_partitions(
    kafka_bootstrap: str, new_topic: Callable[..., str], group_id: str
) -> None:
    topic = new_topic(partitions=4)
    assigned: list[TopicPartition] = []
    revoked: list[TopicPartition] = []
    consumer = Consumer(
        kafka_bootstrap, group_id, [topic], on_assign=assigned.extend, on_revoke=revoked.extend
    )
    deadline = time.monotonic() + 30
    while len(assigned) < 4 and time.monotonic() < deadline:
        consumer.poll_batch(1, 0.2)
    assert sorted(assigned, key=lambda tp: tp.partition) == [
        TopicPartition(topic, p) for p in range(4)
    ]
    assert sorted(consumer.assignment(), key=lambda tp: tp.partition) == assigned
    consumer.close()
    assert sorted(revoked, key=lambda tp: tp.partition) == assigned


def test_lag_counts_what_is_not_consumed_yet(
    kafka_bootstrap: str, new_topic: Callable[..., str], group_id: str
) -> None:
    topic = new_topic()
    producer = Producer(kafka_bootstrap)
    consumer = Consumer(kafka_bootstrap, group_id, [topic])
    try:
        producer.send(Outgoing(topic, b"first"))
        producer.flush()
        consume(consumer, 1)
        for _ in range(5):
            producer.send(Outgoing(topic, b"later"))
        producer.flush()
        time.sleep(0.5)
        consumer.poll_batch(1, 0.5)  # refresh watermarks; takes one of the five
        assert consumer.lag()[TopicPartition(topic, 0)] == 4
    finally:
        consumer.close()


def test_a_failed_delivery_is_reported_not_swallowed(kafka_bootstrap: str) -> None:
    producer = Producer(kafka_bootstrap, overrides={"message.timeout.ms": 3000})
    producer.send(Outgoing("no-such-topic-anywhere", b"x"))
    with pytest.raises(DeliveryError, match=r"no-such-topic-anywhere: .*does the topic exist"):
        producer.flush(10)


def test_dead_letter_keeps_the_original_message_whole(
    kafka_bootstrap: str, new_topic: Callable[..., str], group_id: str
) -> None:
    source, dlq = new_topic(), new_topic()
    original = Message(
        topic=source,
        partition=0,
        offset=41,
        key=b"user-1",
        value=b"\xc3\x01garbage",
        headers=(("content-type", b"x/y"),),
    )
    producer = Producer(kafka_bootstrap)
    producer.send(
        dead_letter(
            CODEC, original, "unrecognised framing", "undecodable", "worker", "host:1", topic=dlq
        )
    )
    producer.flush()
    consumer = Consumer(kafka_bootstrap, group_id, [dlq])
    try:
        [msg] = consume(consumer, 1)
    finally:
        consumer.close()
    record = CODEC.decode("DeadLetter", msg.value)
    assert msg.key == b"user-1"
    assert record["original_value"] == b"\xc3\x01garbage"
    assert record["original_key"] == b"user-1"
    assert record["original_headers"] == [{"key": "content-type", "value": b"x/y"}]
    assert (record["source_topic"], record["source_offset"]) == (source, 41)
    assert (record["reason"], record["error_type"], record["service"]) == (
        "unrecognised framing",
        "undecodable",
        "worker",
    )
