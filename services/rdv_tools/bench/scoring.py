"""`rdv bench scoring`: microseconds per row of the numpy scorer, per estimator kind and batch
size, against a bare numpy dot product of the same width and batch (the floor)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

import numpy as np

from rdv.messages import Features
from rdv.model import Scorer
from rdv.model.synthetic import ESTIMATORS, synthetic_model

BATCHES = (1, 64, 1024)


@dataclass(frozen=True)
class ScoringFigure:
    estimator: str
    batch: int
    us_per_row: float
    floor_us_per_row: float

    @property
    def ratio(self) -> float:
        return self.us_per_row / self.floor_us_per_row

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def _per_row(fn: Callable[[], object], rows: int, budget_s: float) -> float:
    """Best of several timed rounds, in microseconds per row: the least disturbed by noise."""
    fn()  # warm caches
    rounds: list[float] = []
    deadline = time.perf_counter() + budget_s
    while time.perf_counter() < deadline or len(rounds) < 3:
        repeats = max(1, int(2000 / rows))
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        rounds.append((time.perf_counter() - start) / (repeats * rows) * 1e6)
    return min(rounds)


def measure_scoring(
    width: int = 20, budget_s: float = 0.5, progress: Callable[[str], None] | None = None
) -> list[ScoringFigure]:
    rng = np.random.default_rng(1)
    figures = []
    floors: dict[int, float] = {}
    for batch in BATCHES:
        x, w = rng.normal(size=(batch, width)), rng.normal(size=width)
        floors[batch] = _per_row(partial(np.dot, x, w), batch, budget_s)
    for estimator in ESTIMATORS:
        scorer = Scorer(synthetic_model(estimator, width))
        for batch in BATCHES:
            if progress:
                progress(f"{estimator} x {batch}")
            rows: list[Features] = [
                {"numeric": {f"x{i}": float(v) for i, v in enumerate(r)}, "categorical": {}}
                for r in rng.normal(size=(batch, width))
            ]
            per_row = _per_row(partial(scorer.score, rows), batch, budget_s)
            figures.append(ScoringFigure(estimator, batch, per_row, floors[batch]))
    return figures
