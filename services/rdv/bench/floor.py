"""`rdv bench floor`: what Kafka alone costs on this machine.

A message makes three hops, as a request does through a model worker and the rendezvous:
produce -> relay -> relay -> back, each relay a separate process with the project's consumer
and producer settings. Round trips are sequential, so the figure is latency, not queueing.
The throughput ceiling is one producer and one consumer in separate processes moving small
messages as fast as they can. Every later benchmark divides by these figures."""

from __future__ import annotations

import multiprocessing as mp
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from multiprocessing.synchronize import Event

from rdv.bench.stats import LatencySummary
from rdv.kafka import Consumer, Outgoing, Producer, TopicSpec, create_topics
from rdv.kafka.admin import delete_topics

PAYLOAD = b"x" * 100  # about the size of a small Avro request


@dataclass(frozen=True)
class FloorResult:
    bootstrap: str
    round_trips: int
    three_hop: LatencySummary
    throughput_msgs: int
    throughput_msgs_per_s: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _relay(bootstrap: str, source: str, target: str, stop: Event) -> None:
    consumer = Consumer(bootstrap, f"rdv-bench-relay-{source}", [source])
    producer = Producer(bootstrap)
    try:
        while not stop.is_set():
            batch = consumer.poll_batch(500, 0.05)
            for msg in batch:
                producer.send(Outgoing(target, msg.value, msg.key))
            if batch:
                producer.flush()
                consumer.store(batch)
    finally:
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
) -> FloorResult:
    run = uuid.uuid4().hex[:8]
    hops = [f"rdv-bench-{run}-hop{i}" for i in (1, 2, 3)]
    flood = f"rdv-bench-{run}-flood"
    create_topics(bootstrap, [TopicSpec(t, 1) for t in [*hops, flood]])
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    relays = [
        ctx.Process(target=_relay, args=(bootstrap, hops[i], hops[i + 1], stop), daemon=True)
        for i in (0, 1)
    ]
    for relay in relays:
        relay.start()
    producer = Producer(bootstrap)
    back = Consumer(bootstrap, f"rdv-bench-back-{run}", [hops[2]])
    try:
        # Warm up until a message makes it through: groups joined, connections open, JIT warm.
        for i in range(200):
            key = f"warm-{i}".encode()
            producer.send(Outgoing(hops[0], PAYLOAD, key))
            producer.flush()
            if _wait_for(back, key, 2.0) is not None and i >= 20:
                break
        samples: list[float] = []
        for i in range(round_trips):
            key = f"rt-{i}".encode()
            start = time.perf_counter()
            producer.send(Outgoing(hops[0], PAYLOAD, key))
            producer.poll(0)
            arrived = _wait_for(back, key, 5.0)
            if arrived is not None:
                samples.append(arrived - start)
            if progress:
                progress("round trips", i + 1, round_trips)
        three_hop = LatencySummary.of(samples)
    finally:
        stop.set()
        back.close()
        for relay in relays:
            relay.join(10)
    rate = _throughput(bootstrap, flood, throughput_msgs, producer, ctx, progress)
    delete_topics(bootstrap, [*hops, flood])
    return FloorResult(bootstrap, round_trips, three_hop, throughput_msgs, rate)


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
