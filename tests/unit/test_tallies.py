"""The hot path's tallies expose what prometheus_client's own metrics expose for the same
observations: dashboards, alerts and `rdv up`'s table read them by the same names."""

from __future__ import annotations

import random

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, Summary
from prometheus_client.exposition import generate_latest

from rdv.tallies import Tally

BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 1.0)
SIGNED = (-0.5, -0.1, 0.0, 0.1, 0.5)


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample but `_created` (a timestamp prometheus_client adds, which nothing reads)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_a_histogram_summary_and_counter_expose_what_prometheus_client_does() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    latency = Tally("t_latency_seconds", "doc", ["model"], bounds=BOUNDS, registry=ours)
    signed = Tally("t_delta", "doc", ["model"], bounds=SIGNED, registry=ours)
    mean = Tally("t_delta_signed", "doc", ["model", "against"], registry=ours)
    agree = Tally("t_agreement", "doc", ["agrees"], kind="counter", registry=ours)
    plain = Tally("t_unlabelled_seconds", "doc", bounds=BOUNDS, registry=ours)
    their_latency = Histogram(
        "t_latency_seconds", "doc", ["model"], buckets=BOUNDS, registry=theirs
    )
    their_signed = Histogram("t_delta", "doc", ["model"], buckets=SIGNED, registry=theirs)
    their_mean = Summary("t_delta_signed", "doc", ["model", "against"], registry=theirs)
    their_agree = Counter("t_agreement", "doc", ["agrees"], registry=theirs)
    their_plain = Histogram("t_unlabelled_seconds", "doc", buckets=BOUNDS, registry=theirs)
    rng = random.Random(7)
    # Values on the bounds themselves too: `le` is inclusive.
    values = [*BOUNDS, *SIGNED, 2.0, *(rng.uniform(-1, 1.5) for _ in range(500))]
    for i, value in enumerate(values):
        model = f"m{i % 3}"
        latency.labels(model).observe(abs(value))
        their_latency.labels(model).observe(abs(value))
        signed.labels(model).observe(value)
        their_signed.labels(model).observe(value)
        mean.labels(model, "champion").observe(value)
        their_mean.labels(model, "champion").observe(value)
        agree.labels("true" if value > 0 else "false").inc()
        their_agree.labels("true" if value > 0 else "false").inc()
        plain.observe(abs(value))
        their_plain.observe(abs(value))
    got, want = samples(ours), samples(theirs)
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-9), key
    # Negative buckets: no _sum, as prometheus_client does.
    assert not any(name == "t_delta_sum" for name, _ in got)
    text = generate_latest(ours).decode()
    assert 't_latency_seconds_bucket{le="0.05",model="m0"}' in text
    assert 't_agreement_total{agrees="true"}' in text


def test_nan_is_left_out_instead_of_making_the_sum_nan_for_good() -> None:
    registry = CollectorRegistry()
    tally = Tally("t_nan", "doc", bounds=BOUNDS, registry=registry)
    tally.observe(float("nan"))
    tally.observe(0.5)
    assert registry.get_sample_value("t_nan_bucket", {"le": "+Inf"}) == 1
    assert registry.get_sample_value("t_nan_count") == 1
    assert registry.get_sample_value("t_nan_sum") == 0.5


def test_wrong_labels_and_unsorted_bounds_are_refused() -> None:
    tally = Tally("t_labels", "doc", ["model", "against"])
    with pytest.raises(ValueError, match="takes labels"):
        tally.labels("only-one")
    with pytest.raises(ValueError, match="must increase"):
        Tally("t_bounds", "doc", bounds=(1.0, 0.5))
