"""One writer at a time across a real broker: a writer fenced between its check and its commit
is told it lost the race, and nothing it wrote is visible."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from confluent_kafka import Producer as _Producer

from rdv.kafka import Outgoing
from rdv.kafka.exclusive import RaceLostError, write_exclusively
from rdv.kafka.reader import read_partitions

pytestmark = [pytest.mark.broker, pytest.mark.parallel]


def test_a_writer_fenced_after_its_check_loses_the_race_and_writes_nothing(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    """In CI a fenced writer's close once raised a SystemError (its purged message reported
    while confluent-kafka's fatal error was pending) in place of the race lost; the writer no
    longer flushes after a failed transaction. That race did not reproduce here: this pins
    what the fenced path must give."""
    topic = new_topic(1, "exclusive")
    transactional_id = f"test-{topic}"
    rival: list[_Producer] = []

    def check_then_get_fenced() -> Outgoing:
        newer = _Producer(
            {"bootstrap.servers": kafka_bootstrap, "transactional.id": transactional_id}
        )
        newer.init_transactions(30)  # fences the writer whose check this is
        rival.append(newer)
        return Outgoing(topic, b"written by the fenced writer", b"k", partition=0)

    with pytest.raises(RaceLostError, match="came first"):
        write_exclusively(kafka_bootstrap, None, transactional_id, check_then_get_fenced)
    assert read_partitions(kafka_bootstrap, topic, [0]) == []
