"""`rdv bench soak`: one rate held for a long time, in windows, to show whether latency and
memory stay flat. Each window reports the client's p50/p99, the rendezvous's own p99 and each
service's resident memory (from /proc)."""

from __future__ import annotations

import functools
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rdv_tools.bench.e2e import drive
from rdv_tools.bench.served import served_stack
from rdv_tools.demo.generator import login_requests


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MB, None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None
    return None


@dataclass
class SoakSample:
    minute: float  # since the first window began, at this window's end
    sent: int
    answered: int
    p50_ms: float | None
    p99_ms: float | None
    decided_p99_ms: float | None
    rss_mb: dict[str, float]


@dataclass
class SoakResult:
    rate: float
    window_s: float
    sla_ms: int
    delivery: str
    models: str
    samples: list[SoakSample]

    def drift(self) -> dict[str, float]:
        """1.0 is flat. Latency: the last window's p99 over the median window's, since the
        first window also holds the stack settling. Memory: the last window over the first,
        so that all growth counts."""
        first, last = self.samples[0], self.samples[-1]
        out: dict[str, float] = {}
        p99s = sorted(s.p99_ms for s in self.samples if s.p99_ms)
        if p99s and last.p99_ms:
            out["client p99"] = last.p99_ms / p99s[len(p99s) // 2]
        for name, mb in first.rss_mb.items():
            if mb and last.rss_mb.get(name):
                out[f"{name} memory"] = last.rss_mb[name] / mb
        return out

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "drift": self.drift()}


def run_soak(
    bootstrap: str,
    rate: float,
    minutes: float,
    window_s: float,
    sla_ms: int,
    delivery: str = "exactly_once",
    models: str = "all",
    on_sample: Callable[[SoakSample], None] = lambda _: None,
    progress: Callable[[str], None] = lambda _: None,
) -> SoakResult:
    windows = max(2, math.ceil(minutes * 60 / window_s))
    samples: list[SoakSample] = []
    with (
        tempfile.TemporaryDirectory(prefix="rdv-soak-") as tmp,
        served_stack(
            bootstrap, Path(tmp), sla_ms, delivery, models=models, progress=progress
        ) as served,
    ):
        started = time.monotonic()
        for n in range(windows):
            progress(f"window {n + 1} of {windows}: {rate:g} requests/s")
            rows = functools.partial(login_requests, seed=1000 + n)
            result = drive(served.client, rate, window_s, sla_ms, rows)
            memory = {name: rss_mb(pid) for name, pid in served.pids().items()}
            sample = SoakSample(
                round((time.monotonic() - started) / 60, 2),
                result.sent,
                result.answered,
                result.latency.p50_ms if result.latency else None,
                result.latency.p99_ms if result.latency else None,
                result.decided.p99_ms if result.decided else None,
                {name: round(mb, 1) for name, mb in memory.items() if mb is not None},
            )
            samples.append(sample)
            on_sample(sample)
    return SoakResult(rate, window_s, sla_ms, delivery, models, samples)
