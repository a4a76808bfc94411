"""`rdv bench e2e`: broker, champion, challenger, canary, fallback, decoy and rendezvous on
this machine, driven at fixed rates by the Python client; latencies are client send to answer
received, and divided by the Kafka floor measured in the same run."""

from __future__ import annotations

import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rdv.bench.floor import FloorResult, measure_floor
from rdv.bench.stats import LatencySummary
from rdv.client import AnswerTimeoutError, RendezvousClient
from rdv.data.generator import login_requests
from rdv.rendezvous.rollout_store import publish
from rdv.settings import make_codec
from rdv.stack import LocalStack, example_config, example_models


@dataclass
class RateResult:
    rate: float
    sent: int
    answered: int
    seconds: float
    latency: LatencySummary | None
    sla_met: float
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def answers_per_s(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0


@dataclass
class E2EResult:
    sla_ms: int
    delivery: str
    floor: FloorResult
    rates: list[RateResult]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sla_ms": self.sla_ms,
            "delivery": self.delivery,
            "floor": self.floor.as_dict(),
            "rates": [{**asdict(r), "answers_per_s": r.answers_per_s} for r in self.rates],
        }


def _drive(
    client: RendezvousClient, rate: float, seconds: float, sla_ms: int, seed: int
) -> RateResult:
    count = max(1, int(rate * seconds))
    latencies: list[float] = []
    reasons: Counter[str] = Counter()
    lock = threading.Lock()
    futures = []
    started = time.perf_counter()
    for i, request in enumerate(login_requests(count, seed)):
        pause = started + i / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        sent_at = time.perf_counter()

        def done(future: Any, sent_at: float = sent_at) -> None:
            received = time.perf_counter()
            with lock:
                latencies.append(received - sent_at)
                reasons[future.result()["reason"]] += 1

        future = client.submit(
            {**request["features"]["numeric"], **request["features"]["categorical"]},
            key=request["key"],
        )
        future.add_done_callback(done)
        futures.append(future)
        client.poll()
    client.flush()
    deadline = time.perf_counter() + sla_ms / 1000 + 5
    while time.perf_counter() < deadline and not all(f.done() for f in futures):
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    with lock:
        summary = LatencySummary.of(latencies) if latencies else None
        met = sum(1 for x in latencies if x * 1000 <= sla_ms) / count
        return RateResult(rate, count, len(latencies), elapsed, summary, met, dict(reasons))


def run_e2e(
    bootstrap: str,
    rates: list[float],
    seconds: float,
    sla_ms: int,
    delivery: str = "exactly_once",
    progress: Callable[[str], None] = lambda _: None,
) -> E2EResult:
    with tempfile.TemporaryDirectory(prefix="rdv-e2e-") as tmp:
        workdir = Path(tmp)
        progress("measuring the Kafka floor")
        floor = measure_floor(bootstrap, round_trips=500, throughput_msgs=20_000)
        stack = LocalStack(bootstrap, workdir, extra_env={"RDV_RENDEZVOUS_DELIVERY": delivery})
        stack.create_topics()
        publish(
            bootstrap,
            make_codec(),
            example_config(sla_ms),
            None,
            "bench e2e",
            stack.topics["rendezvous.config"],
        )
        try:
            progress("starting champion, challenger, canary, fallback, decoy, rendezvous")
            stack.start_workers(example_models(workdir / "models"))
            stack.start("decoy", "decoy", "--archive", str(workdir / "archive"))
            stack.start("rendezvous", "rendezvous")
            with RendezvousClient(
                bootstrap, stack.topics["requests"], stack.topics["answers"]
            ) as client:
                warm_up(client)
                results = []
                for n, rate in enumerate(rates):
                    progress(f"driving {rate:g} requests/s for {seconds:g} s")
                    results.append(_drive(client, rate, seconds, sla_ms, seed=n))
        finally:
            stack.stop()
    return E2EResult(sla_ms, delivery, floor, results)


def warm_up(client: RendezvousClient, on_time: int = 20, timeout: float = 120) -> None:
    """Send requests until `on_time` answers came back not late: groups joined, models
    loaded, so that what is measured next is the steady state."""
    deadline = time.monotonic() + timeout
    answered = 0
    while answered < on_time:
        try:
            answer = client.predict(
                {"failed_logins": 1.0, "account_age_days": 10.0, "country": "US"}, timeout=2
            )
            answered += answer["reason"] != "late"
        except AnswerTimeoutError:
            if time.monotonic() > deadline:
                raise
