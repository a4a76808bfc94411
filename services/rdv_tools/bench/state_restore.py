"""What a take-over's restore reads after some minutes of traffic: the `rendezvous.state`
settings of today against those before 2026-12-04 (10 min segments, Kafka's day of
tombstones). Each request leaves its three changelog records (answered, closed, tombstone),
written to one topic of each setting at once; then each is read whole, as a restore does.

Three records per request is what every request wrote before 2026-12-04, and what a request
that stays open across commits may still write; since then a request decided
and committed past within one transaction writes none (`rdv.rendezvous.changelog`), so this is
the most a restore can meet at a rate, not what it usually does."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass

from rdv.kafka import Outgoing, Producer, TopicSpec, create_topics
from rdv.kafka.admin import delete_topics
from rdv.kafka.reader import read_partitions
from rdv.topics import RENDEZVOUS_STATE, architecture_topics

PARTITIONS = 6
BEFORE = {"cleanup.policy": "compact", "segment.ms": "600000"}
ENTRY = b"x" * 120  # about an encoded Answer


@dataclass(frozen=True)
class RestoreFigure:
    settings: str
    requests: int
    records_read: int
    with_values: int
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _today() -> dict[str, str]:
    spec = next(s for s in architecture_topics(PARTITIONS) if s.name == RENDEZVOUS_STATE.name)
    return spec.config


def measure_state_restore(
    bootstrap: str, minutes: float, rate: int, progress: Callable[[float], None]
) -> list[RestoreFigure]:
    """`rate` requests/s for `minutes`, then one restore of each topic; `progress` gets the
    share of the writing done."""
    suffix = uuid.uuid4().hex[:8]
    settings = {"today": _today(), "before 2026-12-04": BEFORE}
    topics = {name: f"state-bench-{i}-{suffix}" for i, name in enumerate(settings)}
    create_topics(bootstrap, [TopicSpec(topics[n], PARTITIONS, c) for n, c in settings.items()])
    try:
        requests = _write(bootstrap, list(topics.values()), minutes * 60, rate, progress)
        figures = []
        for name, topic in topics.items():
            began = time.perf_counter()
            messages = read_partitions(bootstrap, topic, list(range(PARTITIONS)))
            figures.append(
                RestoreFigure(
                    name,
                    requests,
                    len(messages),
                    sum(1 for m in messages if m.value is not None),
                    time.perf_counter() - began,
                )
            )
        return figures
    finally:
        delete_topics(bootstrap, list(topics.values()))


def _write(
    bootstrap: str, topics: list[str], seconds: float, rate: int, progress: Callable[[float], None]
) -> int:
    producer = Producer(bootstrap, client_id="rdv-bench-state")
    started, n = time.monotonic(), 0
    while (elapsed := time.monotonic() - started) < seconds:
        for _ in range(max(1, rate // 10)):  # a tenth of a second's requests at a time
            key, partition = f"r-{n}".encode(), n % PARTITIONS
            for topic in topics:
                producer.send(Outgoing(topic, ENTRY, key, partition=partition))
                producer.send(Outgoing(topic, ENTRY + b"closed", key, partition=partition))
                producer.send(Outgoing(topic, None, key, partition=partition))
            n += 1
        producer.poll(0)
        progress(min(1.0, elapsed / seconds))
        time.sleep(max(0.0, started + n / rate - time.monotonic()))
    producer.flush(30)
    return n
