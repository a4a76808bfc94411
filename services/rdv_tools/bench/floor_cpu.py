"""The floor's CPU per request: the three-hop pipeline of `rdv bench floor` (client -> relay ->
relay -> client, a relay standing for a model worker and one for the rendezvous) driven at a
fixed rate instead of one round trip at a time, with the CPU of the broker, both relays and the
client read from /proc. It is what a pipeline of the stack's shape costs on this machine and
broker with nothing of Rendezvous in it: the least that `rdv bench e2e`'s CPU per request can
be at the same rate.

Two sets of client settings are measured, each chosen for one thing: the least latency (the
floor's, every message sent and fetched at once) and the least CPU (producers linger and
fetches wait to fill, so that one broker request carries several messages)."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from rdv.kafka import Consumer, Outgoing, Producer, TopicSpec, create_topics
from rdv.kafka.admin import delete_topics
from rdv_tools.bench.cpu import CpuMeter, listener_pid
from rdv_tools.bench.floor import FLOOR, PAYLOAD, Settings, relay
from rdv_tools.bench.stats import LatencySummary

# Fewer, fuller broker requests, with the three hops still inside a 50 ms SLA: a producer
# waits 5 ms to fill a batch and a fetch waits 10 ms for 64 KiB (at most 3 x 15 ms in all). At
# a few hundred messages a second each request then carries several.
BATCHED: Settings = (
    {"linger.ms": 5, "enable.idempotence": True},
    {"fetch.wait.max.ms": 10, "fetch.min.bytes": 65_536},
)
SETTINGS: dict[str, Settings] = {"least latency": FLOOR, "least CPU": BATCHED}
WARM_SECONDS = 2.0


@dataclass(frozen=True)
class PacedFloor:
    settings: str
    rate: float
    sent: int
    received: int
    latency: LatencySummary
    cpu_us: dict[str, float]  # per request: broker, relays, client, total

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def paced_floor(
    bootstrap: str, rate: float, seconds: float, name: str, settings: Settings
) -> PacedFloor:
    ctx = mp.get_context("spawn")
    run = uuid.uuid4().hex[:8]
    hops = [f"rdv-bench-{run}-paced{i}" for i in (1, 2, 3)]
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
    back = Consumer(bootstrap, f"rdv-bench-paced-{run}", [hops[2]], overrides=settings[1])
    try:
        _drive(producer, back, hops[0], rate, WARM_SECONDS, "warm")
        pids = {"client": os.getpid()}
        pids.update({f"relay {i + 1}": p.pid for i, p in enumerate(relays) if p.pid})
        broker = listener_pid(bootstrap)
        if broker is not None:
            pids["broker"] = broker
        meter = CpuMeter(pids)
        meter.start()
        sent, samples = _drive(producer, back, hops[0], rate, seconds, "run")
        use = meter.stop()
        return PacedFloor(
            name,
            rate,
            sent,
            len(samples),
            LatencySummary.of(samples),
            use.per_request_us(len(samples)),
        )
    finally:
        stop.set()
        back.close()
        producer.flush()
        for process in relays:
            process.join(10)
        delete_topics(bootstrap, hops)


def _drive(
    producer: Producer, back: Consumer, topic: str, rate: float, seconds: float, tag: str
) -> tuple[int, list[float]]:
    """Send `rate` messages a second for `seconds`, each keyed by its send time, and collect
    the round trips of those that come back (waiting one more second for stragglers)."""
    sent_at: dict[bytes, float] = {}
    samples: list[float] = []
    start = time.perf_counter()
    end = start + seconds
    sent = 0
    while True:
        now = time.perf_counter()
        due = min(int((now - start) * rate), int(seconds * rate))
        while sent < due:
            key = f"{tag}-{sent}".encode()
            sent_at[key] = time.perf_counter()
            producer.send(Outgoing(topic, PAYLOAD, key))
            sent += 1
        producer.poll(0)
        for msg in back.poll_batch(1000, 0.001):
            began = sent_at.pop(msg.key or b"", None)
            if began is not None:
                samples.append(time.perf_counter() - began)
        if (now > end and not sent_at) or now > end + 1.0:
            return sent, samples


def paced_floors(bootstrap: str, rate: float, seconds: float) -> list[PacedFloor]:
    return [paced_floor(bootstrap, rate, seconds, n, s) for n, s in SETTINGS.items()]


def settings_text(settings: Settings) -> str:
    merged: dict[str, Any] = {**settings[0], **settings[1]}
    return ", ".join(f"{k}={v}" for k, v in merged.items())
