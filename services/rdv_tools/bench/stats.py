"""Latency summaries."""

from __future__ import annotations

from dataclasses import dataclass

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
