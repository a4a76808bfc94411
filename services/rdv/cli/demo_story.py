"""The demo's story: traffic through the whole stack while the rollout changes, shown live."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.live import Live
from rich.table import Table

from rdv.client import RendezvousClient
from rdv.data.generator import login_requests


@dataclass
class Phase:
    title: str
    sent: int = 0
    answers: list[dict[str, Any]] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)


def _percentile(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.0f}"


def render(phases: list[Phase], sla_ms: int) -> Table:
    table = Table(title="Rendezvous demo: login-bot traffic at 40 requests/s", expand=False)
    for column in (
        "step",
        "sent",
        "answered",
        "decided in SLA",
        "client p50/p99 ms",
        "answers by model and reason",
    ):
        table.add_column(
            column, justify="left" if column in ("step", "answers by model and reason") else "right"
        )
    for phase in phases:
        decided = sum(a["latency_us"] <= sla_ms * 1000 for a in phase.answers)
        mix = Counter(f"{a['model'] or 'default'} ({a['reason']})" for a in phase.answers)
        table.add_row(
            phase.title,
            str(phase.sent),
            str(len(phase.answers)),
            f"{decided / len(phase.answers):.0%}" if phase.answers else "-",
            f"{_percentile(phase.client_ms, 0.5)}/{_percentile(phase.client_ms, 0.99)}",
            ", ".join(f"{k} {v}" for k, v in mix.most_common(4)),
        )
    return table


def drive(
    client: RendezvousClient,
    phase: Phase,
    seconds: float,
    rate: float,
    seed: int,
    refresh: Callable[[], None],
) -> None:
    lock = threading.Lock()
    started = time.perf_counter()
    for i, request in enumerate(login_requests(int(seconds * rate), seed)):
        pause = started + i / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        sent_at = time.perf_counter()

        def done(future: Any, sent_at: float = sent_at) -> None:
            with lock:
                phase.answers.append(future.result())
                phase.client_ms.append((time.perf_counter() - sent_at) * 1000)

        features = {**request["features"]["numeric"], **request["features"]["categorical"]}
        client.submit(features, key=request["key"]).add_done_callback(done)
        phase.sent += 1
        if i % 10 == 0:
            client.flush()
            refresh()
    client.flush()
    deadline = time.perf_counter() + 5
    while len(phase.answers) < phase.sent and time.perf_counter() < deadline:
        time.sleep(0.1)
        refresh()


def tell(live: Live, phases: list[Phase], sla_ms: int) -> Callable[[], None]:
    return lambda: live.update(render(phases, sla_ms))


def kill(process: Any) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)
