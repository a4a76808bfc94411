"""The report's numbers from a records frame built by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from rdv_tools.report import analysis

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


def candidate(model: str, role: str, score: float | None, label: str | None) -> dict:
    return {
        "model": model,
        "role": role,
        "score": score,
        "label": label,
        "error": None if score is not None else "refused",
        "eval_latency_us": 100,
        "arrival_latency_us": 2000,
        "on_time": True,
    }


def frame(rows: list[tuple[int, list[dict], str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "request_id": f"r{i}",
                "answered_at": T0 + timedelta(seconds=second),
                "candidates": cands,
                "answer_role": role,
                "answer_reason": reason,
            }
            for i, (second, cands, role, reason) in enumerate(rows)
        ]
    )


def test_agreement_compares_each_model_with_the_reference_on_the_same_requests() -> None:
    records = frame(
        [
            (
                0,
                [candidate("a", "champion", 0.9, "bot"), candidate("b", "challenger", 0.7, "bot")],
                "champion",
                "preferred",
            ),
            (
                1,
                [
                    candidate("a", "champion", 0.2, "human"),
                    candidate("b", "challenger", 0.6, "bot"),
                ],
                "champion",
                "preferred",
            ),
            # b refused this one: it does not count against b.
            (
                2,
                [
                    candidate("a", "champion", 0.1, "human"),
                    candidate("b", "challenger", None, None),
                ],
                "champion",
                "preferred",
            ),
        ]
    )
    got = analysis.agreement(analysis.candidates(records), "champion").set_index("model")
    assert list(got.index) == ["b"]
    assert got.loc["b", "requests"] == 2
    assert got.loc["b", "same_label"] == 0.5
    assert np.isclose(got.loc["b", "mean_abs_delta"], (0.2 + 0.4) / 2)
    assert got.loc["b", "against"] == "a"
    assert analysis.agreement(analysis.candidates(records), "canary").empty


def test_answers_over_time_fill_quiet_buckets_with_zeros() -> None:
    records = frame(
        [
            (0, [], "champion", "preferred"),
            (0, [], "default", "default"),
            (3, [], "champion", "preferred"),
        ]
    )
    counts = analysis.answers_over_time(records, "answer_role", "1s")
    assert counts["champion"].tolist() == [1, 0, 0, 1]
    assert counts["default"].tolist() == [1, 0, 0, 0]


def test_canary_psi_is_near_zero_when_nothing_moves_and_high_when_scores_shift() -> None:
    rng = np.random.default_rng(0)
    steady = [
        (s, [candidate("c", "canary", float(x), None)], "champion", "preferred")
        for s, x in zip(range(0, 400), rng.uniform(0, 0.5, 400), strict=True)
    ]
    moved = [
        (s, [candidate("c", "canary", float(x), None)], "champion", "preferred")
        for s, x in zip(range(400, 600), rng.uniform(0.5, 1.0, 200), strict=True)
    ]
    psi = analysis.canary_psi_over_time(analysis.candidates(frame(steady + moved)), "100s")
    assert psi.iloc[0] < 0.1  # the reference's own buckets
    assert psi.iloc[-1] > 1.0  # every score outside the reference's range


def test_quality_counts_only_requests_with_a_labelled_feedback() -> None:
    records = frame(
        [
            (
                0,
                [
                    candidate("a", "champion", 0.9, "bot"),
                    candidate("b", "challenger", 0.2, "human"),
                ],
                "champion",
                "preferred",
            ),
            (
                1,
                [candidate("a", "champion", 0.8, "bot"), candidate("b", "challenger", 0.9, "bot")],
                "champion",
                "preferred",
            ),
            (2, [candidate("a", "champion", 0.8, "bot")], "champion", "preferred"),
        ]
    )
    feedback = pd.DataFrame(
        {
            "request_id": ["r0", "r1", "r2"],
            "label": ["bot", "human", None],
            "value": [None] * 3,
            "reward": [None, None, 1.0],
        }
    )
    got = analysis.quality(analysis.candidates(records), feedback).set_index("model")
    assert got.loc["a", "judged"] == 2 and got.loc["a", "accuracy"] == 0.5
    assert got.loc["b", "judged"] == 2 and got.loc["b", "accuracy"] == 0.0


def test_time_buckets_grow_with_the_window() -> None:
    assert analysis.bucket_size(frame([(0, [], "x", "y"), (30, [], "x", "y")])) == "1s"
    assert analysis.bucket_size(frame([(0, [], "x", "y"), (3600, [], "x", "y")])) == "5min"
