"""Canary drift: the population stability index of the canary's recent scores against a
reference window. The canary never changes, so when its scores move, the input moved."""

from __future__ import annotations

from collections import deque

import numpy as np

from rdv.messages import Record


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
        if self._edges is None:
            edges = np.unique(np.quantile(self.reference, np.linspace(0, 1, self.bins + 1)))
            self._edges = edges[1:-1]
        expected = np.bincount(
            np.searchsorted(self._edges, self.reference), minlength=len(self._edges) + 1
        ) / len(self.reference)
        actual = np.bincount(
            np.searchsorted(self._edges, np.fromiter(self.recent, float)),
            minlength=len(self._edges) + 1,
        ) / len(self.recent)
        expected, actual = np.clip(expected, 1e-4, None), np.clip(actual, 1e-4, None)
        return float(np.sum((actual - expected) * np.log(actual / expected)))
