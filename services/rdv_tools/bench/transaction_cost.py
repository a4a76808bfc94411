"""What one Kafka transaction costs here: begin, one record on each of N partitions, the
consumer offsets, commit; timed from begin to the commit's return, as the rendezvous's writer
runs them (with its producer settings, one commit every `commit_interval_ms`), by the number
of partitions touched. Back to back they would cost more: each would wait for the markers of
the one before (CONCURRENT_TRANSACTIONS retries)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from rdv.kafka import Offset, Producer, TopicSpec, create_topics
from rdv.kafka.admin import delete_topics
from rdv.kafka.reader import PartitionReader
from rdv.kafka.retry import again
from rdv.kafka.transactions import TRANSACTIONAL_DEFAULTS
from rdv.kafka.writers import MARKERS_S, native
from rdv.rendezvous.settings import RendezvousServiceSettings
from rdv_tools.bench.stats import LatencySummary


@dataclass(frozen=True)
class TransactionCost:
    partitions: int
    settings: str  # "project" (the rendezvous's) or "librdkafka defaults"
    latency: LatencySummary

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_transactions(
    bootstrap: str,
    partitions: tuple[int, ...] = (1, 6, 18),
    count: int = 50,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[TransactionCost]:
    """Rows for each partition count with the project's settings, and one with librdkafka's
    defaults (retry.backoff.ms 100) at the middle count, to show what the tuning buys."""
    run = uuid.uuid4().hex[:8]
    topic, source = f"rdv-bench-{run}-tx", f"rdv-bench-{run}-tx-source"
    create_topics(bootstrap, [TopicSpec(topic, max(partitions)), TopicSpec(source, 1)])
    plans = [(n, "project", TRANSACTIONAL_DEFAULTS) for n in partitions]
    plans.append((partitions[len(partitions) // 2], "librdkafka defaults", {}))
    try:
        return [
            TransactionCost(n, name, _time(bootstrap, topic, source, n, count, extra, progress))
            for n, name, extra in plans
        ]
    finally:
        delete_topics(bootstrap, [topic, source])


def never() -> bool:
    return False


def _time(
    bootstrap: str,
    topic: str,
    source: str,
    partitions: int,
    count: int,
    extra: dict[str, Any],
    progress: Callable[[str, int, int], None] | None,
) -> LatencySummary:
    producer, group = _transactional(bootstrap, source, extra)
    raw, metadata = producer.raw, group.group_metadata()
    samples = []
    stage = f"transactions over {partitions} partitions"
    pause = RendezvousServiceSettings().commit_interval_ms / 1000
    try:
        for i in range(count + 5):  # the first few pay for connections: not counted
            started = time.perf_counter()
            _one_transaction(raw, topic, partitions, Offset(source, 0, i), metadata)
            if i >= 5:
                samples.append(time.perf_counter() - started)
                if progress:
                    progress(stage, i - 4, count)
            time.sleep(pause)
    finally:
        group.close()
    return LatencySummary.of(samples)


def _one_transaction(raw: Any, topic: str, partitions: int, mark: Offset, metadata: Any) -> None:
    """Begin, one record on each of `partitions`, the consumer offset `mark`, commit."""
    raw.begin_transaction()
    for partition in range(partitions):
        raw.produce(topic, b"x" * 100, partition=partition)
    again(partial(raw.send_offsets_to_transaction, native([mark]), metadata, 10), give_up=never)
    again(lambda: raw.commit_transaction(-1), give_up=never)


def _transactional(
    bootstrap: str, source: str, extra: dict[str, Any]
) -> tuple[Producer, PartitionReader]:
    """An initialised transactional producer, and a reader of `source` whose group the
    transactions commit offsets for."""
    producer = Producer(
        bootstrap,
        overrides={"transactional.id": f"rdv-bench-tx-{uuid.uuid4().hex[:8]}", **extra},
    )
    # Offsets from outside any group's membership: a member's generation could move under a
    # rebalance and make the coordinator refuse them (ILLEGAL_GENERATION).
    group = PartitionReader(bootstrap, source, 0)
    # A fresh broker's coordinators may still be loading: retriable errors mean "the same call
    # again", as in the rendezvous's writer.
    again(lambda: producer.raw.init_transactions(30), give_up=never)
    return producer, group


def _note_time(into: list[float], *_: object) -> None:
    into.append(time.perf_counter())


@dataclass(frozen=True)
class NextRecordCost:
    pause_ms: float  # between a commit's return and the next transaction's first record
    latency: LatencySummary  # from the commit's return to that record's delivery

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_next_record(
    bootstrap: str,
    partitions: int = 18,
    pauses: tuple[float, ...] = (0.0, MARKERS_S),
    count: int = 30,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[NextRecordCost]:
    """How soon the transaction after a commit delivers its first record, by the pause taken
    before sending it: the coordinator refuses the new transaction's partitions while it
    writes the commit's markers, and librdkafka asks again only 20 ms later. The rendezvous's
    writer pauses MARKERS_S; the pauses are interleaved, so drift hits each alike."""
    run = uuid.uuid4().hex[:8]
    topic, source = f"rdv-bench-{run}-next", f"rdv-bench-{run}-next-source"
    create_topics(bootstrap, [TopicSpec(topic, partitions), TopicSpec(source, 1)])
    producer, group = _transactional(bootstrap, source, TRANSACTIONAL_DEFAULTS)
    raw, metadata = producer.raw, group.group_metadata()
    samples: dict[float, list[float]] = {pause: [] for pause in pauses}
    stage = f"the first record after a commit over {partitions} partitions"
    try:
        for i in range(count + 2):  # the first two pay for connections: not counted
            for pause in pauses:
                _one_transaction(raw, topic, partitions, Offset(source, 0, i), metadata)
                committed = time.perf_counter()
                time.sleep(pause)
                delivered: list[float] = []
                raw.begin_transaction()
                raw.produce(
                    topic,
                    b"y",
                    partition=0,
                    on_delivery=partial(_note_time, delivered),
                )
                while not delivered:
                    raw.poll(0.001)
                again(lambda: raw.commit_transaction(-1), give_up=never)
                if i >= 2:
                    samples[pause].append(delivered[0] - committed)
                time.sleep(0.2)  # markers of the last commit done: the next starts clean
            if progress and i >= 2:
                progress(stage, i - 1, count)
    finally:
        group.close()
        delete_topics(bootstrap, [topic, source])
    return [NextRecordCost(pause * 1000, LatencySummary.of(xs)) for pause, xs in samples.items()]
