"""`rdv bench floor`: what Kafka alone costs on this machine.

A message makes three hops, as a request does through a model worker and the rendezvous:
produce -> relay -> relay -> back, each relay a separate process. Round trips are sequential,
so the figure is latency, not queueing. The floor is measured with client settings chosen for
the least latency (`FLOOR_PRODUCER`, `FLOOR_CONSUMER`: no linger, 5 ms fetch waits, relays
that never wait for a delivery), and again with the project's own settings beside it: every
"x floor" ratio divides by the first, so the project's settings cannot flatter the stack. The
throughput ceiling is one producer and one consumer in separate processes moving small
messages as fast as they can."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from multiprocessing.synchronize import Event
from typing import Any

from rdv.kafka import Consumer, Outgoing, Producer, TopicSpec, create_topics
from rdv.kafka.admin import delete_topics
from rdv_tools.bench.stats import LatencySummary

PAYLOAD = b"x" * 100  # about the size of a small Avro request

# The least latency Kafka gives here, whatever it costs in requests: send at once, and have an
# empty fetch return after 5 ms. Idempotence (acks=all) stays: a floor without it would be
# one nobody should run with.
FLOOR_PRODUCER: dict[str, Any] = {"linger.ms": 0, "enable.idempotence": True}
FLOOR_CONSUMER: dict[str, Any] = {"fetch.wait.max.ms": 5, "fetch.min.bytes": 1}
Settings = tuple[dict[str, Any], dict[str, Any]]  # producer and consumer overrides
FLOOR: Settings = (FLOOR_PRODUCER, FLOOR_CONSUMER)
PROJECT: Settings = ({}, {})  # rdv.kafka's own defaults


@dataclass(frozen=True)
class FloorResult:
    bootstrap: str
    round_trips: int
    three_hop: LatencySummary  # with FLOOR settings
    throughput_msgs: int
    throughput_msgs_per_s: float
    project_three_hop: LatencySummary | None = None  # with the project's settings

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def relay(bootstrap: str, source: str, target: str, stop: Event, settings: Settings) -> None:
    producer_overrides, consumer_overrides = settings
    consumer = Consumer(
        bootstrap, f"rdv-bench-relay-{source}", [source], overrides=consumer_overrides
    )
    producer = Producer(bootstrap, overrides=producer_overrides)
    try:
        while not stop.is_set():
            batch = consumer.poll_batch(500, 0.05)
            for msg in batch:
                producer.send(Outgoing(target, msg.value, msg.key))
            producer.poll(0)
    finally:
        producer.flush()
        consumer.close()


def _drain(
    bootstrap: str,
    topic: str,
    expected: int,
    ready: Event,
    done: mp.Queue,  # type: ignore[type-arg]
) -> None:
    consumer = Consumer(bootstrap, f"rdv-bench-drain-{topic}", [topic])
    seen = 0
    deadline = time.monotonic() + 120
    while seen < expected and time.monotonic() < deadline:
        batch = consumer.poll_batch(10_000, 0.1)
        if not ready.is_set() and consumer.assignment():
            ready.set()
        seen += len(batch)
    done.put((seen, time.monotonic()))
    consumer.close()


def _wait_for(consumer: Consumer, key: bytes, timeout: float) -> float | None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        for msg in consumer.poll_batch(100, 0.05):
            if msg.key == key:
                return time.perf_counter()
    return None


def measure_floor(
    bootstrap: str,
    round_trips: int = 2000,
    throughput_msgs: int = 100_000,
    progress: Callable[[str, int, int], None] | None = None,
    project: bool = True,
) -> FloorResult:
    """The floor with FLOOR settings and, with `project`, the same with the project's."""
    ctx = mp.get_context("spawn")
    floor = _three_hop(bootstrap, round_trips, FLOOR, progress, "round trips (floor)")
    ours = (
        _three_hop(bootstrap, round_trips, PROJECT, progress, "round trips (project)")
        if project
        else None
    )
    flood = f"rdv-bench-{uuid.uuid4().hex[:8]}-flood"
    create_topics(bootstrap, [TopicSpec(flood, 1)])
    producer = Producer(bootstrap)
    rate = _throughput(bootstrap, flood, throughput_msgs, producer, ctx, progress)
    delete_topics(bootstrap, [flood])
    return FloorResult(bootstrap, round_trips, floor, throughput_msgs, rate, ours)


@dataclass
class Hops:
    """Three hops ready to drive: send to `first` with `producer`, read back with `back`."""

    first: str
    producer: Producer
    back: Consumer
    relay_pids: list[int]


@contextlib.contextmanager
def three_hops(bootstrap: str, settings: Settings, tag: str) -> Iterator[Hops]:
    """Private topics, two relay processes between them and a producer and a consumer at the
    ends, all with `settings`; everything is stopped and deleted on the way out."""
    ctx = mp.get_context("spawn")
    run = uuid.uuid4().hex[:8]
    hops = [f"rdv-bench-{run}-{tag}{i}" for i in (1, 2, 3)]
    create_topics(bootstrap, [TopicSpec(t, 1) for t in hops])
    stop = ctx.Event()
    relays = [
        ctx.Process(
            target=relay, args=(bootstrap, hops[i], hops[i + 1], stop, settings), daemon=True
        )
        for i in (0, 1)
    ]
    for process in relays:
        process.start()
    producer = Producer(bootstrap, overrides=settings[0])
    back = Consumer(bootstrap, f"rdv-bench-back-{run}", [hops[2]], overrides=settings[1])
    try:
        yield Hops(hops[0], producer, back, [p.pid for p in relays if p.pid])
    finally:
        stop.set()
        back.close()
        producer.flush()
        for process in relays:
            process.join(10)
        delete_topics(bootstrap, hops)


def _three_hop(
    bootstrap: str,
    round_trips: int,
    settings: Settings,
    progress: Callable[[str, int, int], None] | None,
    stage: str,
) -> LatencySummary:
    with three_hops(bootstrap, settings, "hop") as hops:
        producer, back = hops.producer, hops.back
        # Warm up until a message makes it through: groups joined, connections open, JIT warm.
        for i in range(200):
            key = f"warm-{i}".encode()
            producer.send(Outgoing(hops.first, PAYLOAD, key))
            producer.flush()
            if _wait_for(back, key, 2.0) is not None and i >= 20:
                break
        samples: list[float] = []
        for i in range(round_trips):
            key = f"rt-{i}".encode()
            start = time.perf_counter()
            producer.send(Outgoing(hops.first, PAYLOAD, key))
            producer.poll(0)
            arrived = _wait_for(back, key, 5.0)
            if arrived is not None:
                samples.append(arrived - start)
            if progress:
                progress(stage, i + 1, round_trips)
        return LatencySummary.of(samples)


def _throughput(
    bootstrap: str,
    topic: str,
    count: int,
    producer: Producer,
    ctx: mp.context.SpawnContext,
    progress: Callable[[str, int, int], None] | None,
) -> float:
    done: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    ready = ctx.Event()
    drain = ctx.Process(target=_drain, args=(bootstrap, topic, count, ready, done), daemon=True)
    drain.start()
    ready.wait(60)  # the clock starts once the drain owns the partition
    start = time.monotonic()
    for i in range(count):
        producer.send(Outgoing(topic, PAYLOAD))
        if progress and i % 5000 == 0:
            progress("throughput", i, count)
    producer.flush()
    seen, finished = done.get(timeout=180)
    drain.join(10)
    if progress:
        progress("throughput", count, count)
    return float(seen / (finished - start))
