"""Histograms, summaries and counters for the hot path: the same exposition as
prometheus_client's, at a fraction of the cost per observation.

prometheus_client takes a lock for the sum and another for the bucket on every `observe()`,
and a rendezvous record makes ~30 of them (each model's arrival, score and deltas): 13% of
the rendezvous's busy time at 300 requests/s (py-spy, docs/performance.md). Here an
observation is a bisect and two additions on plain Python numbers, written by the one loop
thread that owns them. A scrape reads them without a lock: the count is the sum of the
buckets it reads, so `_count` always equals the `+Inf` bucket; the `_sum` may be one
observation ahead, which no dashboard can tell.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Literal

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

Kind = Literal["histogram", "summary", "counter"]


class Series:
    """One labelled series: its bucket counts (the last is +Inf), their sum, and the sum of
    what was observed. A summary or counter is a series with no bounds."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        if math.isnan(value):
            # NaN: prometheus_client counts it in no bucket and makes the sum NaN for good,
            # which would blank every mean computed from it. Left out instead.
            return
        self.counts[bisect_left(self.bounds, value)] += 1  # `le`: the first bound >= value
        self.total += value

    def inc(self, amount: float = 1.0) -> None:
        self.counts[-1] += 1
        self.total += amount


class Tally(Collector):
    """A labelled family of series, exposed as a histogram (`bounds` given), a summary
    (count and sum) or a counter (`kind="counter"`: the sum of `inc()`s, as `NAME_total`)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        bounds: Sequence[float] | None = None,
        kind: Kind | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.name, self.documentation = name, documentation
        self.labelnames = tuple(labelnames)
        self.kind: Kind = kind or ("histogram" if bounds is not None else "summary")
        self.bounds = tuple(float(b) for b in bounds or ())
        if list(self.bounds) != sorted(set(self.bounds)):
            raise ValueError(f"{name}: bucket bounds must increase: {self.bounds}")
        # `le` as prometheus_client writes it ("0.05", "1.0", "+Inf"), so queries match.
        self._les = [str(floatToGoString(b)) for b in (*self.bounds, math.inf)]  # type: ignore[no-untyped-call]
        self._series: dict[tuple[str, ...], Series] = {}
        if not self.labelnames:
            self._series[()] = Series(self.bounds)
        if registry is not None:
            registry.register(self)

    def labels(self, *values: str) -> Series:
        """The series of these label values (in `labelnames`' order), made at first use."""
        series = self._series.get(values)
        if series is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name} takes labels {self.labelnames}, not {values}")
            series = self._series[values] = Series(self.bounds)
        return series

    def observe(self, value: float) -> None:
        self._series[()].observe(value)

    def inc(self, amount: float = 1.0) -> None:
        self._series[()].inc(amount)

    def describe(self) -> Iterator[Metric]:
        yield self._empty()

    def collect(self) -> Iterator[Metric]:
        family = self._empty()
        # list() copies the items at once: the loop thread may add a series meanwhile.
        for values, series in list(self._series.items()):
            labels, total = list(values), series.total
            counts = list(series.counts)  # one copy: the count below matches its buckets
            if isinstance(family, CounterMetricFamily):
                family.add_metric(labels, total)
            elif isinstance(family, SummaryMetricFamily):
                family.add_metric(labels, count_value=sum(counts), sum_value=total)
            elif isinstance(family, HistogramMetricFamily):
                self._add_histogram(family, labels, counts, total)
        yield family

    def _add_histogram(
        self, family: HistogramMetricFamily, labels: list[str], counts: list[int], total: float
    ) -> None:
        cumulative, buckets = 0, []
        for le, count in zip(self._les, counts, strict=True):
            cumulative += count
            buckets.append((le, cumulative))
        if self.bounds and self.bounds[0] < 0:
            # Negative buckets make a histogram's sum meaningless to Prometheus (it must only
            # grow): prometheus_client exposes its count and no sum, and so does this.
            family.add_metric(labels, buckets, None)
            named = dict(zip(self.labelnames, labels, strict=True))
            family.samples.append(Sample(f"{self.name}_count", named, cumulative))
        else:
            family.add_metric(labels, buckets, total)

    def _empty(self) -> Metric:
        labels = list(self.labelnames)
        if self.kind == "counter":
            return CounterMetricFamily(self.name, self.documentation, labels=labels)
        if self.kind == "summary":
            return SummaryMetricFamily(self.name, self.documentation, labels=labels)
        return HistogramMetricFamily(self.name, self.documentation, labels=labels)
