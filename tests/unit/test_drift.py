import random

import numpy as np

from rdv.drift import CanaryDrift, psi


def test_psi_is_small_for_the_same_distribution_and_large_when_it_moves() -> None:
    rng = random.Random(0)
    same, moved = CanaryDrift(every=1), CanaryDrift(every=1)
    for _ in range(1000):
        value = rng.betavariate(2, 5)
        same.add(value)
        moved.add(value)
    assert same.psi() is None  # no recent window yet
    for _ in range(1000):
        same.add(rng.betavariate(2, 5))
        moved.add(rng.betavariate(5, 2))  # the input moved: scores shifted up
    stable, drifted = same.psi(), moved.psi()
    assert stable is not None and drifted is not None
    assert stable < 0.05  # the usual reading: < 0.1 stable
    assert drifted > 0.25  # > 0.25 a significant shift


def test_psi_is_reported_every_n_scores() -> None:
    drift = CanaryDrift(reference_size=10, window=200, every=50)
    reported = [drift.add(i / 300) for i in range(300)]
    assert [i for i, value in enumerate(reported) if value is not None] == [149, 199, 249, 299]


def test_only_the_canary_s_usable_score_feeds_the_drift() -> None:
    drift = CanaryDrift(reference_size=10, window=100, every=1)
    record = {
        "candidates": [
            {"model": "m@2", "score": 0.9},
            {"model": "m@1", "score": None},
        ]
    }
    assert drift.watch(record, "m@1") is None and drift.reference == []
    record["candidates"][1]["score"] = 0.3
    drift.watch(record, "m@1")
    assert drift.reference == [0.3]
    assert drift.watch(record, None) is None and drift.reference == [0.3]


def test_the_gauge_and_the_report_compute_one_psi() -> None:
    rng = np.random.default_rng(1)
    reference, recent = rng.beta(2, 5, 1000), rng.beta(3, 4, 1000)
    drift = CanaryDrift(reference_size=1000, window=1000, every=1)
    for value in [*reference, *recent]:
        drift.add(float(value))
    assert drift.psi() == psi(reference, recent)
    assert psi(reference, reference) == 0.0
