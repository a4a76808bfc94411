"""A producer that lingers while busy, across a real broker: the fast sender's messages share
produce requests and arrive, each once; the slow sender's go at once, as before."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from rdv.kafka import KafkaSettings, Outgoing, Producer
from rdv.kafka.producer import LINGERING_AFTER_S
from tests.integration.harness import read_until

pytestmark = [pytest.mark.broker, pytest.mark.parallel]


def read_values(bootstrap: str, topic: str, expected: int) -> list[bytes]:
    """What `topic` holds, read on for a second after `expected` (duplicates would show)."""
    messages = read_until(bootstrap, topic, lambda got: len(got) >= expected, 30, quiet=1.0)
    return [m.value or b"" for m in messages]


def test_a_fast_sender_lingers_and_every_message_arrives_once(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(partitions=3)
    producer = Producer(kafka_bootstrap, linger_when_busy=True)
    producer.connect(topic)
    delivered: list[str | None] = []
    start = time.monotonic()
    for i in range(8_000):  # 4,000 a second for two seconds, far over 500
        while time.monotonic() < start + i / 4_000:
            pass
        producer.send(
            Outgoing(topic, f"v{i}".encode(), f"k{i}".encode()),
            lambda _message, reason: delivered.append(reason),
        )
    producer.flush(30)

    # The lingering client is used from a second after the producer was made.
    assert producer.lingered > 2_000
    assert delivered == [None] * 8_000
    values = read_values(kafka_bootstrap, topic, 8_000)
    assert sorted(values) == sorted(f"v{i}".encode() for i in range(8_000))


def test_a_slow_sender_never_lingers(kafka_bootstrap: str, new_topic: Callable[..., str]) -> None:
    topic = new_topic()
    producer = Producer(kafka_bootstrap, linger_when_busy=True)
    time.sleep(LINGERING_AFTER_S)  # a lingering client would be in use by now
    for i in range(20):  # 50 a second
        producer.send(Outgoing(topic, f"v{i}".encode()))
        time.sleep(0.02)
    producer.flush(10)

    assert producer.lingered == 0
    assert len(read_values(kafka_bootstrap, topic, 20)) == 20


@pytest.mark.parametrize(
    "settings",
    [KafkaSettings(busy_per_s=0), KafkaSettings(extra={"linger.ms": "5"})],
    ids=["turned off", "the user's own linger.ms"],
)
def test_lingering_stays_off_when_the_settings_say_so(
    kafka_bootstrap: str, new_topic: Callable[..., str], settings: KafkaSettings
) -> None:
    topic = new_topic()
    producer = Producer(kafka_bootstrap, settings, linger_when_busy=True)
    time.sleep(LINGERING_AFTER_S)  # a lingering client would be in use by now
    for i in range(1_000):
        producer.send(Outgoing(topic, f"v{i}".encode()))
    producer.flush(30)
    assert producer.lingered == 0


def test_unhurried_messages_linger_without_making_the_urgent_ones_linger(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    # A worker co-hosting the champion and shadows: for each request one score needed at
    # once and five only recorded. Counted together they would be over the busy rate (500 a
    # second); the urgent ones alone never are: a pause of 4 ms after each request, never a
    # catch-up burst, keeps them under 250 a second however slow the machine runs.
    topic = new_topic(partitions=2)
    producer = Producer(kafka_bootstrap, linger_when_busy=True)
    producer.connect(topic)
    time.sleep(LINGERING_AFTER_S)  # the lingering client is in use from now on
    delivered: list[str | None] = []
    for i in range(200):
        for n in range(6):
            producer.send(
                Outgoing(topic, f"m{n}-{i}".encode(), f"r{i}".encode()),
                lambda _message, reason: delivered.append(reason),
                at_once=n == 0,
            )
        time.sleep(0.004)
    producer.flush(30)

    assert producer.lingered == 1_000  # every unhurried message, no urgent one
    assert delivered == [None] * 1_200
    assert len(read_values(kafka_bootstrap, topic, 1_200)) == 1_200
