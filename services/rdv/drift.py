"""Canary drift: the population stability index of the canary's recent scores against a
reference window. The canary never changes, so when its scores move, the input moved."""

from __future__ import annotations

from collections import deque

import numpy as np

from rdv.messages import Record


def decile_edges(reference: np.ndarray, bins: int = 10) -> np.ndarray:
    """The inner edges of the reference's quantile bins (ties merged)."""
    return np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))[1:-1]


def psi(
    reference: np.ndarray, recent: np.ndarray, bins: int = 10, edges: np.ndarray | None = None
) -> float:
    """Population stability index of `recent` against `reference`, over the reference's
    quantile bins; empty bins count as 0.01% so that the log stays finite."""
    edges = decile_edges(reference, bins) if edges is None else edges
    expected = np.bincount(np.searchsorted(edges, reference), minlength=len(edges) + 1)
    actual = np.bincount(np.searchsorted(edges, recent), minlength=len(edges) + 1)
    expected = np.clip(expected / len(reference), 1e-4, None)
    actual = np.clip(actual / len(recent), 1e-4, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


class CanaryDrift:
    def __init__(
        self, reference_size: int = 1000, window: int = 1000, bins: int = 10, every: int = 100
    ) -> None:
        self.reference_size, self.bins, self.every = reference_size, bins, every
        self._added = 0
        self.reference: list[float] = []
        self.recent: deque[float] = deque(maxlen=window)
        self._edges: np.ndarray | None = None

    def add(self, score: float) -> float | None:
        """Take one canary score; every `every` scores, the PSI (None until it exists)."""
        if len(self.reference) < self.reference_size:
            self.reference.append(score)
        else:
            self.recent.append(score)
        self._added += 1
        return self.psi() if self._added % self.every == 0 else None

    def watch(self, record: Record, canary: str | None) -> float | None:
        """Take the canary's score from a Record, if it has one; the PSI when one is due."""
        for candidate in record["candidates"]:
            if candidate["model"] == canary and candidate["score"] is not None:
                return self.add(candidate["score"])
        return None

    def psi(self) -> float | None:
        """PSI over deciles of the reference; None until both windows have data."""
        if len(self.reference) < self.reference_size or len(self.recent) < self.bins * 10:
            return None
        if self._edges is None:  # the reference is fixed once full: its deciles are too
            self._edges = decile_edges(np.asarray(self.reference), self.bins)
        return psi(np.asarray(self.reference), np.fromiter(self.recent, float), edges=self._edges)
