"""`rdv bench e2e`: broker, champion, challenger, canary, fallback, decoy and rendezvous on
this machine, driven at fixed rates by the Python client; latencies are client send to answer
received, and divided by the Kafka floor measured in the same run."""

from __future__ import annotations

import functools
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rdv.topics import DEFAULT_PARTITIONS
from rdv_tools.bench.askers import asked_per_request
from rdv_tools.bench.broker_counts import ServedPerRequest
from rdv_tools.bench.cpu import CpuMeter
from rdv_tools.bench.floor import FloorResult, measure_floor
from rdv_tools.bench.local_brokers import LocalBrokers
from rdv_tools.bench.machine import MachineLoad, MachineSampler
from rdv_tools.bench.served import Served, served_stack
from rdv_tools.bench.stats import LatencySummary, decided_since_creation_s
from rdv_tools.demo.generator import flat_features, login_requests


@dataclass
class RateResult:
    rate: float
    sent: int
    answered: int
    seconds: float
    latency: LatencySummary | None
    sla_met: float
    reasons: dict[str, int] = field(default_factory=dict)
    # From the request's creation to the rendezvous's decision: the part of the SLA spent
    # before the answer was sent (the hop to the rendezvous included), without the hop back.
    decided: LatencySummary | None = None
    # CPU µs per answered request, per process (each service, the broker, the client) and in
    # total, read from /proc over the run.
    cpu_us: dict[str, float] = field(default_factory=dict)
    # Answers received outside the SLA, by the second (from the run's start) their request
    # was sent in.
    late_by_second: list[int] = field(default_factory=list)
    # The answers received outside the SLA, by where the time went: decided past the SLA by
    # the rendezvous (its CPU, its inputs), or decided inside it and held after (the
    # transaction's commit, the producer, the broker, the client's fetch).
    late_decided: int = 0
    late_after_decision: int = 0
    # From the decision to the client's receipt: the client's latency less the answer's own.
    after_decision: LatencySummary | None = None
    # What the broker served per answered request (its own counters), when it could be read.
    broker_served: ServedPerRequest | None = None
    # How busy the machine's cores were over the run, and how often all at once.
    machine: MachineLoad | None = None
    # Kafka requests each process sent the broker per answered request (TCP data segments,
    # from `ss`), when the broker runs on this machine: who asks for what `broker_served` counts.
    asked_by: dict[str, float] = field(default_factory=dict)
    # How far the client's sends ran behind their schedule (ms), the most in each second: a
    # client that stalls sends what it owes in a burst, which the stack then queues behind.
    send_lag_by_second: list[float] = field(default_factory=list)

    def recovered_after_s(self, share: float = 0.99) -> float | None:
        """Seconds from the run's start until every following second had `share` of its
        answers inside the SLA; None if a request went unanswered."""
        if self.unanswered:
            return None
        per_second = max(1.0, self.rate)
        bad = [s for s, late in enumerate(self.late_by_second) if late > (1 - share) * per_second]
        return float(bad[-1] + 1) if bad else 0.0

    @property
    def answers_per_s(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    @property
    def unanswered(self) -> int:
        """Requests with no answer 5 s after the last was sent."""
        return self.sent - self.answered

    def behind(self, sla_ms: int) -> bool:
        """The stack did not keep up: a request unanswered, answers slower than 90% of the
        rate, or a p99 of twenty SLAs (a queue, not a tail)."""
        p99 = self.latency.p99_ms if self.latency else float("inf")
        return bool(self.unanswered) or self.answers_per_s < 0.9 * self.rate or p99 > 20 * sla_ms

    def inside_sla(self, sla_ms: int) -> bool:
        """Every request answered and the client's p99 inside the SLA."""
        return self.unanswered == 0 and self.latency is not None and self.latency.p99_ms <= sla_ms


@dataclass
class E2EResult:
    sla_ms: int
    delivery: str
    floor: FloorResult
    rates: list[RateResult]
    partitions: int = DEFAULT_PARTITIONS
    models: str = "all"
    # Share of one core each process used while the stack stood idle (no requests).
    idle: dict[str, float] = field(default_factory=dict)
    overload: Overload | None = None
    # Why the rates have no `broker_served` figures, if they have none.
    broker_counts_note: str = ""

    @property
    def saturation(self) -> float | None:
        """The highest rate driven with nothing lost and the client's p99 inside the SLA."""
        return _saturation(self.rates, self.sla_ms)

    @property
    def label(self) -> str:
        from rdv_tools.bench.plot import run_label

        return run_label(self.models, self.partitions, self.delivery)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sla_ms": self.sla_ms,
            "delivery": self.delivery,
            "partitions": self.partitions,
            "models": self.models,
            "saturation_rate": self.saturation,
            "floor": self.floor.as_dict(),
            "idle_share_of_core": self.idle,
            "overload": self.overload.as_dict() if self.overload else None,
            "broker_counts_note": self.broker_counts_note,
            "rates": [
                {**asdict(r), "answers_per_s": r.answers_per_s, "unanswered": r.unanswered}
                for r in self.rates
            ],
        }


class Driven(Protocol):
    """What `drive` needs of a client: RendezvousClient, or a peer's client of the same shape."""

    def submit(self, features: dict[str, Any], key: str | None = None) -> Future[Any]: ...
    def poll(self) -> None: ...
    def flush(self) -> None: ...


def drive(
    client: Driven,
    rate: float,
    seconds: float,
    sla_ms: int,
    requests: Callable[[int], Iterable[dict[str, Any]]],
) -> RateResult:
    """Send `requests(count)` at `rate` for `seconds`, each timed from send to answer."""
    count = max(1, int(rate * seconds))
    latencies: list[float] = []
    decided: list[float] = []
    after: list[float] = []
    late_by_cause: Counter[str] = Counter()  # "decided" late, or held "after" the decision
    reasons: Counter[str] = Counter()
    misses: list[float] = []
    lock = threading.Lock()
    # Set by the last answer's callback: a future is done before its callbacks have run, so
    # waiting on the futures could count before the last latency is in.
    all_in = threading.Event()
    lag = SendLag()
    started = time.perf_counter()
    for i, request in enumerate(requests(count)):
        due = started + i / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        sent_at = time.perf_counter()
        lag.sent(due - started, sent_at - due)

        def done(future: Any, sent_at: float = sent_at) -> None:
            received = time.perf_counter()
            answer = future.result()
            took = received - sent_at
            with lock:
                latencies.append(took)
                reasons[answer["reason"]] += 1
                decided_s = decided_since_creation_s(answer) if "answered_at" in answer else None
                if decided_s is not None:
                    decided.append(decided_s)
                    after.append(max(0.0, took - decided_s))
                if took * 1000 > sla_ms:
                    misses.append(sent_at - started)
                    if decided_s is not None:
                        late = "decided" if decided_s * 1000 > sla_ms else "after"
                        late_by_cause[late] += 1
                if len(latencies) == count:
                    all_in.set()

        client.submit(flat_features(request), key=request["key"]).add_done_callback(done)
        client.poll()
    client.flush()
    all_in.wait(sla_ms / 1000 + 5)
    elapsed = time.perf_counter() - started
    with lock:
        summary = LatencySummary.of(latencies) if latencies else None
        met = sum(1 for x in latencies if x * 1000 <= sla_ms) / count
        return RateResult(
            rate,
            count,
            len(latencies),
            elapsed,
            summary,
            met,
            dict(reasons),
            LatencySummary.of(decided) if decided else None,
            late_by_second=_by_second(misses, elapsed),
            late_decided=late_by_cause["decided"],
            late_after_decision=late_by_cause["after"],
            after_decision=LatencySummary.of(after) if after else None,
            send_lag_by_second=lag.by_second(elapsed),
        )


class SendLag:
    """The most each second's sends ran behind schedule, in ms."""

    def __init__(self) -> None:
        self._most: dict[int, float] = {}

    def sent(self, due_s: float, late_s: float) -> None:
        second = int(due_s)
        if late_s * 1000 > self._most.get(second, 0.0):
            self._most[second] = late_s * 1000

    def by_second(self, seconds: float) -> list[float]:
        """One figure per second of `late_by_second`, so that the two line up."""
        return [round(self._most.get(s, 0.0), 1) for s in range(_seconds(seconds))]


def run_e2e(
    bootstrap: str,
    rates: list[float],
    seconds: float,
    sla_ms: int,
    delivery: str = "exactly_once",
    progress: Callable[[str], None] = lambda _: None,
    partitions: int = DEFAULT_PARTITIONS,
    models: str = "all",
    until_saturated: bool = False,
    overload_seconds: float = 0.0,
) -> E2EResult:
    """Drive each rate in turn; with `until_saturated`, stop after the first rate the stack
    could not keep up with (see `RateResult.behind`): past it the client measures a queue.
    With `overload_seconds`, then drive twice the saturation rate that long, and half of it
    right after for as long, RECOVERY_SECONDS at most (see `Overload`)."""
    with tempfile.TemporaryDirectory(prefix="rdv-e2e-") as tmp:
        progress("measuring the Kafka floor")
        floor = measure_floor(bootstrap, round_trips=500, throughput_msgs=20_000, project=False)
        results: list[RateResult] = []
        with served_stack(
            bootstrap, Path(tmp), sla_ms, delivery, partitions, models, progress
        ) as served:
            # A fresh stack's first seconds of steady traffic are slow (the broker's JIT, new
            # partitions, first batches): measured here, 50-80 of the first 200 requests
            # missed the SLA, one in a few hundred after. Figures are of the steady state.
            progress(f"warming up with {WARM_SECONDS:g} s of traffic")
            warm = functools.partial(login_requests, seed=99)
            drive(served.client, min(rates[0], 100.0), WARM_SECONDS, sla_ms, warm)
            brokers = LocalBrokers.of(bootstrap)
            meter = CpuMeter(processes(served, brokers), brokers.parts())
            progress(f"measuring the idle stack for {IDLE_SECONDS:g} s")
            meter.start()
            time.sleep(IDLE_SECONDS)
            idle = meter.stop().share_of_core()
            counts, counts_note = brokers.counts()
            load = MachineSampler()
            askers = brokers.askers()
            services = {n: pid for n, pid in meter.pids.items() if n not in brokers.pids}
            try:
                for n, rate in enumerate(rates):
                    progress(f"driving {rate:g} requests/s for {seconds:g} s")
                    rows = functools.partial(login_requests, seed=n)
                    before = counts.read() if counts else {}
                    asked = askers.read() if askers else {}
                    meter.start()
                    load.start()
                    result = drive(served.client, rate, seconds, sla_ms, rows)
                    result.machine = load.stop()
                    result.cpu_us = meter.stop().per_request_us(result.answered)
                    if askers:
                        now = askers.read()
                        result.asked_by = asked_per_request(asked, now, services, result.answered)
                    if counts:
                        after = counts.read()
                        result.broker_served = ServedPerRequest.of(before, after, result.answered)
                    results.append(result)
                    if until_saturated and result.behind(sla_ms):
                        break
            finally:
                if counts:
                    counts.close()
            overload = None
            if overload_seconds:
                saturation = _saturation(results, sla_ms) or rates[0]
                overload = overloaded(served.client, saturation, overload_seconds, sla_ms, progress)
    return E2EResult(
        sla_ms, delivery, floor, results, partitions, models, idle, overload, counts_note
    )


def _seconds(seconds: float) -> int:
    """How many whole seconds a per-second list of a run of `seconds` holds."""
    return int(seconds) + 1


def _by_second(offsets: list[float], seconds: float) -> list[int]:
    counts = [0] * _seconds(seconds)
    for offset in offsets:
        counts[min(int(offset), len(counts) - 1)] += 1
    return counts


def _saturation(results: list[RateResult], sla_ms: int) -> float | None:
    good = [r.rate for r in results if r.inside_sla(sla_ms)]
    return max(good) if good else None


RECOVERY_SECONDS = 10.0


@dataclass
class Overload:
    """Twice the saturation rate, then half of it: does the stack keep answering, in time,
    and how soon after the load drops is every answer inside the SLA again?"""

    saturation: float
    load: RateResult
    recovery: RateResult

    @property
    def recovered_after_s(self) -> float | None:
        """Seconds after the load dropped until every following second had 99% of its
        answers inside the SLA; None if a request went unanswered."""
        return self.recovery.recovered_after_s()

    def as_dict(self) -> dict[str, Any]:
        return {
            "saturation": self.saturation,
            "load": {**asdict(self.load), "unanswered": self.load.unanswered},
            "recovery": {**asdict(self.recovery), "unanswered": self.recovery.unanswered},
            "recovered_after_s": self.recovered_after_s,
        }


def overloaded(
    client: Driven,
    saturation: float,
    seconds: float,
    sla_ms: int,
    progress: Callable[[str], None] = lambda _: None,
) -> Overload:
    rate = 2 * saturation
    progress(f"overload: {rate:g} requests/s for {seconds:g} s")
    load = drive(client, rate, seconds, sla_ms, functools.partial(login_requests, seed=7))
    calm = max(1.0, saturation / 2)
    calm_seconds = min(seconds, RECOVERY_SECONDS)
    progress(f"recovery: {calm:g} requests/s for {calm_seconds:g} s")
    rows = functools.partial(login_requests, seed=8)
    recovery = drive(client, calm, calm_seconds, sla_ms, rows)
    return Overload(saturation, load, recovery)


IDLE_SECONDS = 5.0
WARM_SECONDS = 3.0


def processes(served: Served, brokers: LocalBrokers) -> dict[str, int]:
    """Every process whose CPU a run is charged: the services, the broker's nodes that run on
    this machine and this process, the client."""
    return {**served.pids(), "client": os.getpid(), **brokers.pids}
