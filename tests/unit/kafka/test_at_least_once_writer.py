"""Without transactions, a state entry goes out only once the answers before it are delivered:
an entry that reached Kafka while its answer was lost with a crash made the next instance
restore the request as answered and never send it (CI, 2026-12-04)."""

from __future__ import annotations

from typing import Any, cast

from rdv.kafka import Outgoing
from rdv.kafka.writers import AtLeastOnceWriter


class Recorder:
    """What a writer asks of its producer, in order."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def send(self, message: Outgoing) -> None:
        self.calls.append(f"send {message.topic}")

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self) -> None:
        self.calls.append("flush")


def message(topic: str) -> Outgoing:
    return Outgoing(topic, b"v", b"k")


def writer(producer: Recorder) -> AtLeastOnceWriter:
    return AtLeastOnceWriter(cast(Any, producer), cast(Any, None))


def test_state_entries_wait_until_every_answer_sent_before_them_is_delivered() -> None:
    producer = Recorder()
    w = writer(producer)
    w.send([message("answers"), message("rendezvous.log")])
    w.send_after_delivered([message("rendezvous.state")])
    assert producer.calls == [
        "send answers",
        "send rendezvous.log",
        "flush",
        "send rendezvous.state",
    ]


def test_no_entries_no_flush() -> None:
    producer = Recorder()
    writer(producer).send_after_delivered([])
    assert producer.calls == []
