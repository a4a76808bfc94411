"""A batch of a few rows takes plain-Python paths where numpy's cost per call would dominate
(one-hot encoding, walking a few trees): each row's result must be the one the batch path
gives it, errors included, whatever the values (NaN, infinities, fractions, out of range)."""

import math

import numpy as np
import pytest

from rdv.model import Prediction, ScoreFailure, Scorer
from rdv.model.trees import TreeEnsemble
from tests.unit.model.builders import artifact, one_hot_of_three, stage, tree

ODD_VALUES = [0.0, 1.0, 2.0, 2.7, -0.5, -1.0, 3.0, 7.0, 1e300, math.inf, -math.inf, math.nan]


def _outcome(result: Prediction | ScoreFailure) -> tuple[object, ...]:
    if isinstance(result, ScoreFailure):
        return (result.code, result.message)
    return (result.label, result.score, result.probabilities)


def _same(batch: list, one_by_one: list) -> None:
    assert [_outcome(r)[0] for r in batch] == [_outcome(r)[0] for r in one_by_one]
    for got, expected in zip(batch, one_by_one, strict=True):
        if isinstance(got, ScoreFailure):
            assert _outcome(got) == _outcome(expected)
        else:
            assert got.score == pytest.approx(expected.score, abs=1e-12)
            assert got.probabilities == pytest.approx(expected.probabilities, abs=1e-12)


@pytest.mark.parametrize("mode", ["error", "keep"])
@pytest.mark.parametrize("drop_last", [True, False])
def test_one_hot_encoding_of_a_few_rows_is_the_batchs(mode: str, drop_last: bool) -> None:
    one_hot, width = one_hot_of_three(mode, drop_last)
    scorer = Scorer(
        artifact(
            [
                one_hot,
                stage("VectorAssembler", ["vec", "x"], ["features"]),
                stage(
                    "LogisticRegression",
                    ["features"],
                    ["p"],
                    coefficients=[[0.5 * k - 1 for k in range(width + 1)]],
                    intercepts=[0.2],
                ),
            ],
            numeric=["idx", "x"],
        )
    )
    rows = [{"numeric": {"idx": v, "x": 0.3}} for v in ODD_VALUES * 2]
    assert len(rows) > 4  # the batch path
    _same(scorer.score(rows), [scorer.score([row])[0] for row in rows])


def test_a_few_rows_walk_the_trees_as_the_batch_does() -> None:
    rng = np.random.default_rng(3)
    nodes = []
    for i in range(15):  # one complete tree of depth 4, numeric and categorical splits
        if i % 3 == 1:
            left = [int(c) for c in np.flatnonzero(rng.integers(2, size=4))]
            nodes.append({"feature": i % 2, "left_categories": left})
        else:
            nodes.append({"feature": i % 2, "threshold": float(rng.normal())})
        nodes[-1].update(left=2 * i + 1, right=2 * i + 2)
    nodes += [{"stats": [float(k), 16.0 - k]} for k in range(16)]
    spec = tree("DecisionTreeClassifier", nodes, [0], classes=2, categories=4)
    trees = TreeEnsemble(spec)
    values = [*ODD_VALUES, 0.4, -2.0, 3.9]
    x = np.array([[a, b] for a in values for b in values], dtype=np.float64)
    assert x.shape[0] > 8  # the batch path
    one_by_one = np.concatenate([trees.leaves(x[i : i + 1]) for i in range(x.shape[0])])
    np.testing.assert_array_equal(trees.leaves(x), one_by_one)
