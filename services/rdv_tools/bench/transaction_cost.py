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
from rdv.kafka.writers import native
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
    producer = Producer(
        bootstrap,
        overrides={"transactional.id": f"rdv-bench-tx-{uuid.uuid4().hex[:8]}", **extra},
    )
    # Offsets from outside any group's membership: a member's generation could move under a
    # rebalance and make the coordinator refuse them (ILLEGAL_GENERATION).
    group = PartitionReader(bootstrap, source, 0)
    raw = producer.raw
    # A fresh broker's coordinators may still be loading: retriable errors mean "the same call
    # again", as in the rendezvous's writer.
    again(lambda: raw.init_transactions(30), give_up=never)
    metadata = group.group_metadata()
    samples = []
    stage = f"transactions over {partitions} partitions"
    pause = RendezvousServiceSettings().commit_interval_ms / 1000
    try:
        for i in range(count + 5):  # the first few pay for connections: not counted
            started = time.perf_counter()
            raw.begin_transaction()
            for partition in range(partitions):
                raw.produce(topic, b"x" * 100, partition=partition)
            mark = native([Offset(source, 0, i)])
            again(partial(raw.send_offsets_to_transaction, mark, metadata, 10), give_up=never)
            again(lambda: raw.commit_transaction(-1), give_up=never)
            if i >= 5:
                samples.append(time.perf_counter() - started)
                if progress:
                    progress(stage, i - 4, count)
            time.sleep(pause)
    finally:
        group.close()
    return LatencySummary.of(samples)
