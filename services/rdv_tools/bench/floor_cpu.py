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

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from rdv.kafka import Outgoing
from rdv_tools.bench.cpu import CpuMeter, listener_pid
from rdv_tools.bench.floor import FLOOR, PAYLOAD, Hops, Settings, three_hops
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
    with three_hops(bootstrap, settings, "paced") as hops:
        _drive(hops, rate, WARM_SECONDS, "warm")
        pids = {"client": os.getpid()}
        pids.update({f"relay {i + 1}": pid for i, pid in enumerate(hops.relay_pids)})
        broker = listener_pid(bootstrap)
        if broker is not None:
            pids["broker"] = broker
        meter = CpuMeter(pids)
        meter.start()
        sent, samples = _drive(hops, rate, seconds, "run")
        use = meter.stop()
    return PacedFloor(
        name, rate, sent, len(samples), LatencySummary.of(samples), use.per_request_us(len(samples))
    )


def _drive(hops: Hops, rate: float, seconds: float, tag: str) -> tuple[int, list[float]]:
    """Send `rate` messages a second for `seconds`, each keyed by its send time, and collect
    the round trips of those that come back (waiting one more second for stragglers)."""
    producer, back = hops.producer, hops.back
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
            producer.send(Outgoing(hops.first, PAYLOAD, key))
            sent += 1
        producer.poll(0)
        for msg in back.poll_batch(1000, 0.001):
            began = sent_at.pop(msg.key or b"", None)
            if began is not None:
                samples.append(time.perf_counter() - began)
        if (now > end and not sent_at) or now > end + 1.0:
            return sent, samples


def paced_floors(
    bootstrap: str,
    rates: list[float],
    seconds: float,
    progress: Callable[[int, float, str], None] | None = None,
) -> list[PacedFloor]:
    """Every rate under both client settings; `progress` hears of each run as it begins,
    with the number of runs done."""
    floors: list[PacedFloor] = []
    for rate in rates:
        for name, settings in SETTINGS.items():
            if progress:
                progress(len(floors), rate, name)
            floors.append(paced_floor(bootstrap, rate, seconds, name, settings))
    return floors


def highest_inside(floors: list[PacedFloor], sla_ms: float) -> dict[str, float | None]:
    """For each client settings, the highest rate at which every message came back and the
    p99 stayed inside `sla_ms`: what a bare pipeline of the stack's shape carries inside the
    SLA on this machine (issue 12 asks 2,000 requests/s of the stack with every role, 5,000
    with the champion alone). None where no rate did."""
    best: dict[str, float | None] = {name: None for name in SETTINGS}
    for floor in floors:
        inside = floor.received == floor.sent and floor.latency.p99_ms <= sla_ms
        if inside and (best.get(floor.settings) or 0.0) < floor.rate:
            best[floor.settings] = floor.rate
    return best


def settings_text(settings: Settings) -> str:
    merged: dict[str, Any] = {**settings[0], **settings[1]}
    return ", ".join(f"{k}={v}" for k, v in merged.items())
