"""Latency summaries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LatencySummary:
    count: int
    p50_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> LatencySummary:
        if not seconds:
            raise ValueError("no latencies measured")
        ms = np.asarray(seconds) * 1000.0
        p50, p99, p999 = np.percentile(ms, [50, 99, 99.9])
        return cls(len(ms), float(p50), float(p99), float(p999), float(ms.max()))


def decided_since_creation_s(answer: Mapping[str, Any]) -> float:
    """Seconds from the request's creation (its client's clock) to the rendezvous's decision
    (its own): the part of the SLA the stack spent before the answer was sent, Kafka's hop to
    the rendezvous included. An answer's `latency_us` runs from the rendezvous's read and
    misses that hop. Both clocks are this machine's."""
    return max(0.0, float(answer["answered_at"]) / 1e6 - float(answer["request_created_at"]) / 1e3)
