"""Validation gates: every retraining passes all of them or is not registered."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rdv.drift import CanaryDrift


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool
    detail: str


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve by ranks (ties averaged), as Spark's evaluator computes it."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    positives = labels == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def bad_records(bad: int, total: int, limit: float) -> Gate:
    share = bad / total if total else 1.0
    return Gate(
        "bad records",
        share <= limit,
        f"{bad} of {total} rows ({share:.1%}) broken; limit {limit:.1%}",
    )


def iterations(current: int | None, previous: int | None, band: float) -> Gate:
    if current is None or previous is None:
        return Gate("iterations", True, "no iteration count to compare (first run or a tree model)")
    ok = abs(current - previous) <= band * previous
    return Gate("iterations", ok, f"{current} iterations vs {previous} last run; band +-{band:.0%}")


def held_out(candidate: float, champion: float | None, margin: float) -> Gate:
    if champion is None:
        return Gate("held-out AUC", True, f"candidate {candidate:.4f}; no champion to beat")
    ok = candidate >= champion - margin
    return Gate(
        "held-out AUC",
        ok,
        f"candidate {candidate:.4f} vs champion {champion:.4f} on "
        f"the same test set; margin {margin}",
    )


def held_out_rmse(candidate: float, champion: float | None, margin: float) -> Gate:
    if champion is None:
        return Gate("held-out RMSE", True, f"candidate {candidate:.4f}; no champion to beat")
    return Gate(
        "held-out RMSE",
        candidate <= champion + margin,
        f"candidate {candidate:.4f} vs champion {champion:.4f} on the same test set; "
        f"margin {margin}",
    )


def rmse(y: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - predicted) ** 2)))


def shadow_replay(candidate: np.ndarray | None, champion: np.ndarray | None, limit: float) -> Gate:
    if candidate is None or champion is None or len(candidate) < 100:
        return Gate("shadow replay", True, "no archive or champion to replay against")
    drift = CanaryDrift(reference_size=len(champion), window=len(candidate), every=10**9)
    for value in champion:
        drift.add(float(value))
    for value in candidate:
        drift.add(float(value))
    psi = drift.psi() or 0.0
    q = np.quantile(candidate, [0.1, 0.5, 0.9]) - np.quantile(champion, [0.1, 0.5, 0.9])
    return Gate(
        "shadow replay",
        psi <= limit,
        f"PSI {psi:.3f} of candidate vs champion scores on {len(candidate)} archived "
        f"inputs (limit {limit}); quantile shifts p10/p50/p90 "
        f"{q[0]:+.3f}/{q[1]:+.3f}/{q[2]:+.3f}",
    )
