"""The demo's story: traffic through the whole stack while the rollout changes, shown live."""

from __future__ import annotations

import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from rdv.client import RendezvousClient
from rdv_tools.demo.generator import flat_features, login_requests


@dataclass
class Phase:
    title: str
    sent: int = 0
    answers: list[dict[str, Any]] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    ended: float | None = None
    psi: float | None = None
    # (model, against) -> (sum, count) of score deltas at the phase's start and now.
    deltas_at_start: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    deltas_now: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)

    def mean_deltas(self) -> dict[tuple[str, str], float]:
        means = {}
        for pair, (total, count) in self.deltas_now.items():
            total0, count0 = self.deltas_at_start.get(pair, (0.0, 0.0))
            if count > count0:
                means[pair] = (total - total0) / (count - count0)
        return means


@dataclass
class RendezvousGauges:
    """The figures the table shows from the rendezvous's own /metrics."""

    url: str

    def read(self) -> tuple[float | None, dict[tuple[str, str], tuple[float, float]]]:
        try:
            with urllib.request.urlopen(self.url, timeout=1) as response:
                text = response.read().decode()
        except OSError:
            return None, {}
        psi: float | None = None
        sums: dict[tuple[str, str], float] = {}
        counts: dict[tuple[str, str], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "rdv_canary_psi" and sample.value == sample.value:  # not NaN
                    psi = sample.value
                elif sample.name in ("rdv_score_delta_signed_sum", "rdv_score_delta_signed_count"):
                    pair = (sample.labels["model"], sample.labels["against"])
                    target = sums if sample.name.endswith("_sum") else counts
                    target[pair] = sample.value
        return psi, {pair: (sums[pair], counts.get(pair, 0.0)) for pair in sums}


def _why(answer: dict[str, Any]) -> str:
    """The answering role, and the reason where it says more than the role does."""
    role, reason = answer["role"] or "default", answer["reason"]
    return role if reason in (role, "preferred") else f"{role} {reason}"


def _deltas(means: dict[tuple[str, str], float]) -> str:
    """The two models furthest from the champion on average (the champion itself is 0)."""
    against_champion = [(m, d) for (m, against), d in means.items() if against == "champion"]
    furthest = sorted(against_champion, key=lambda md: -abs(md[1]))[:2]
    return ", ".join(f"{model} {mean:+.3f}" for model, mean in furthest if abs(mean) > 1e-9)


def _percentile(values: list[float], q: float) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.0f}"


COLUMNS = (
    "step",
    "sent",
    "answered",
    "answers/s",
    "in SLA at client",
    "client p50/p99 ms",
    "answers by role",
    "config",
    "canary PSI",
    "mean score delta vs champion",
)


def render(phases: list[Phase], sla_ms: int, rate: float) -> Table:
    table = Table(title=f"Rendezvous demo: login-bot traffic at {rate:.0f} requests/s")
    for column in COLUMNS:
        left = column in ("step", "answers by role", "mean score delta vs champion")
        table.add_column(column, justify="left" if left else "right")
    for phase in phases:
        answers = list(phase.answers)
        client_ms = list(phase.client_ms)
        inside = sum(ms <= sla_ms for ms in client_ms)
        elapsed = (phase.ended or time.perf_counter()) - phase.started
        mix = Counter(_why(a) for a in answers)
        versions = {a["config_version"] for a in answers}
        table.add_row(
            phase.title,
            str(phase.sent),
            str(len(answers)),
            f"{len(answers) / elapsed:.0f}" if elapsed > 0 else "-",
            f"{inside / len(client_ms):.0%}" if client_ms else "-",
            f"{_percentile(phase.client_ms, 0.5)}/{_percentile(phase.client_ms, 0.99)}",
            ", ".join(f"{k} {v}" for k, v in mix.most_common(3)),
            "v" + "/".join(str(v) for v in sorted(versions)) if versions else "-",
            f"{phase.psi:.3f}" if phase.psi is not None else "-",
            _deltas(phase.mean_deltas()),
        )
    return table


class StoryView:
    """A progress bar over the whole story above the live table."""

    def __init__(self, live: Live, steps: int, seconds: float, sla_ms: int, rate: float) -> None:
        self.live, self.sla_ms, self.rate = live, sla_ms, rate
        self.phases: list[Phase] = []
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn()
        )
        self.task = self.progress.add_task("story", total=steps * seconds)
        self._last = 0.0

    def refresh(self) -> None:
        live_phase = self.phases[-1] if self.phases else None
        if live_phase is not None:
            self.progress.update(
                self.task,
                description=live_phase.title,
                completed=sum((p.ended or time.perf_counter()) - p.started for p in self.phases),
            )
        self.live.update(Group(self.progress, render(self.phases, self.sla_ms, self.rate)))


def drive(
    client: RendezvousClient,
    phase: Phase,
    seconds: float,
    rate: float,
    seed: int,
    refresh: Callable[[], None],
    gauges: RendezvousGauges | None = None,
) -> None:
    lock = threading.Lock()
    if gauges is not None:
        phase.psi, phase.deltas_at_start = gauges.read()
    started = time.perf_counter()
    phase.started = started
    last_read = started
    for i, request in enumerate(login_requests(int(seconds * rate), seed)):
        pause = started + i / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        sent_at = time.perf_counter()

        def done(future: Any, sent_at: float = sent_at) -> None:
            with lock:
                phase.answers.append(future.result())
                phase.client_ms.append((time.perf_counter() - sent_at) * 1000)

        features = flat_features(request)
        client.submit(features, key=request["key"]).add_done_callback(done)
        phase.sent += 1
        if i % 10 == 0:
            client.flush()
            if gauges is not None and sent_at - last_read > 1:
                last_read = sent_at
                psi, phase.deltas_now = gauges.read()
                phase.psi = psi if psi is not None else phase.psi
            refresh()
    client.flush()
    deadline = time.perf_counter() + 5
    while len(phase.answers) < phase.sent and time.perf_counter() < deadline:
        time.sleep(0.1)
        refresh()
    phase.ended = time.perf_counter()
    if gauges is not None:
        psi, phase.deltas_now = gauges.read()
        phase.psi = psi if psi is not None else phase.psi
    refresh()
