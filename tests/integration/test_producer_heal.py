"""A wedged Kafka client is replaced and its messages sent again, across a real broker.

The wedged client is stood in for by a librdkafka producer whose only broker is a socket that
accepts connections and never answers: it holds its messages and delivers none, while Kafka
itself is fine. That is what a producer that lived through a Kafka restart was seen to do
(docs/reliability.md, finding 9)."""

import socket
import time
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Producer as LibrdkafkaProducer

from rdv.client import RendezvousClient
from rdv.kafka import Consumer, DeliveryError, Message, Outgoing, Producer

pytestmark = [pytest.mark.broker, pytest.mark.parallel]


@pytest.fixture
def black_hole() -> Iterator[str]:
    """host:port of a listener that completes TCP handshakes and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"127.0.0.1:{sock.getsockname()[1]}"


def wedge(producer: Producer, black_hole: str) -> None:
    producer._producer = LibrdkafkaProducer(  # the seam this test is about
        {"bootstrap.servers": black_hole, "enable.idempotence": True, "log_level": 0}
    )


def read_all(bootstrap: str, group: str, topic: str, expected: int) -> list[Message]:
    consumer = Consumer(bootstrap, group, [topic])
    got: list[Message] = []
    try:
        deadline = time.monotonic() + 30
        while len(got) < expected and time.monotonic() < deadline:
            got += consumer.poll_batch(expected, 0.2)
        got += consumer.poll_batch(expected, 1.0)  # anything beyond `expected` is a duplicate
    finally:
        consumer.close()
    return got


def test_a_wedged_producer_is_replaced_and_nothing_is_lost_or_doubled(
    kafka_bootstrap: str, new_topic: Callable[..., str], group_id: str, black_hole: str
) -> None:
    topic = new_topic(partitions=3)
    producer = Producer(kafka_bootstrap, stall_seconds=1.0)
    for i in range(10):
        producer.send(Outgoing(topic, f"v{i}".encode(), f"k{i}".encode()))
    producer.flush(10)
    assert producer.replacements == 0

    wedge(producer, black_hole)
    for i in range(10, 20):
        producer.send(Outgoing(topic, f"v{i}".encode(), f"k{i}".encode()))
    started = time.monotonic()
    producer.flush(30)  # would raise DeliveryError: the black hole holds them for 60 s and more
    assert producer.replacements == 1
    assert producer.waiting == 0
    assert time.monotonic() - started < 15

    values = sorted(m.value for m in read_all(kafka_bootstrap, group_id, topic, 20) if m.value)
    assert values == sorted(f"v{i}".encode() for i in range(20))


def test_no_replacement_while_kafka_does_not_answer(black_hole: str) -> None:
    """Replacing clients during an outage would only churn: each new one would wait too."""
    producer = Producer(black_hole, stall_seconds=0.5)
    producer.send(Outgoing("anything", b"x"))
    with pytest.raises(DeliveryError, match="1 messages still unacknowledged"):
        producer.flush(4)
    assert producer.replacements == 0
    assert producer.waiting == 1


def test_the_client_heals_without_being_flushed(
    kafka_bootstrap: str,
    new_topic: Callable[..., str],
    group_id: str,
    black_hole: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A caller waiting on answers never calls flush(): the client's reader thread heals."""
    monkeypatch.setattr("rdv.kafka.producer.STALL_SECONDS", 1.0)
    requests, answers = new_topic(partitions=2), new_topic()
    with RendezvousClient(kafka_bootstrap, requests, answers) as client:
        wedge(client._producer, black_hole)
        futures = [client.submit({"failed_logins": i}, key=f"user-{i}") for i in range(5)]
        got = read_all(kafka_bootstrap, group_id, requests, 5)
        assert client._producer.replacements == 1
    assert len(got) == 5
    assert {m.key for m in got} == {f"user-{i}".encode() for i in range(5)}
    assert all(not f.done() for f in futures)  # sent, not answered: no rendezvous here
