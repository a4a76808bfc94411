"""Feature stages against outputs worked out by hand from Spark's documented semantics."""

import math

import numpy as np
import pytest

from rdv.model import Prediction, ScoreFailure, Scorer
from tests.unit.model.builders import artifact, one_hot_of_three, stage


def linear_probe(width: int) -> object:
    """An identity-ish regressor: predicts sum(i * x_i) so each input slot is visible."""
    return stage(
        "LinearRegression",
        ["features"],
        ["prediction"],
        coefficients=[10.0**k for k in range(width)],
        intercept=[0.0],
    )


def vector_of(scorer: Scorer, rows: list[dict]) -> list:
    results = scorer.score(rows)
    return [r.score if isinstance(r, Prediction) else r.code for r in results]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("keep", [0.0, 1.0, 2.0, 2.0]),
        ("error", [0.0, 1.0, "invalid_feature", "invalid_feature"]),
        ("skip", [0.0, 1.0, "skipped", "skipped"]),
    ],
)
def test_string_indexer_handle_invalid(mode: str, expected: list) -> None:
    scorer = Scorer(
        artifact(
            [
                stage(
                    "StringIndexer",
                    ["country"],
                    ["country_idx"],
                    {"labels": [["FR", "US"]], "handleInvalid": mode},
                ),
                stage("VectorAssembler", ["country_idx"], ["features"]),
                linear_probe(1),
            ],
            categorical=["country"],
            kind="regressor",
        )
    )
    rows = [{"categorical": {"country": c}} for c in ("FR", "US", "DE")] + [{"categorical": {}}]
    assert vector_of(scorer, rows) == expected


def test_string_indexer_error_says_which_feature_and_value() -> None:
    scorer = Scorer(
        artifact(
            [
                stage("StringIndexer", ["country"], ["ci"], {"labels": [["FR"]]}),
                stage("VectorAssembler", ["ci"], ["features"]),
                linear_probe(1),
            ],
            categorical=["country"],
            kind="regressor",
        )
    )
    [failure] = scorer.score([{"categorical": {"country": "XX"}}])
    assert isinstance(failure, ScoreFailure)
    assert failure.message == (
        "country: 'XX' is an unseen label, refused by StringIndexer (handleInvalid=error)"
    )


@pytest.mark.parametrize(
    ("mode", "drop_last", "expected"),
    [
        # categorySizes [3]: indices 0, 2 and an invalid 3 (from an indexer's "keep" slot)
        ("error", True, [1.0, 0.0, "invalid_feature"]),  # width 2: 0 -> [1,0]; 2 (last) -> [0,0]
        ("keep", True, [1.0, 100.0, 0.0]),  # width 3: invalid -> slot 3, dropped
        ("keep", False, [1.0, 100.0, 1000.0]),  # width 4: invalid -> slot 3
        ("error", False, [1.0, 100.0, "invalid_feature"]),  # width 3
    ],
)
def test_one_hot_encoder_drop_last_and_invalid(mode: str, drop_last: bool, expected: list) -> None:
    one_hot, width = one_hot_of_three(mode, drop_last)
    scorer = Scorer(
        artifact(
            [
                one_hot,
                stage("VectorAssembler", ["vec"], ["features"]),
                linear_probe(width),
            ],
            numeric=["idx"],
            kind="regressor",
        )
    )
    rows = [{"numeric": {"idx": v}} for v in (0.0, 2.0, 3.0)]
    assert vector_of(scorer, rows) == expected


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("error", [21.0, "missing_feature"]),
        ("skip", [21.0, "skipped"]),
    ],
)
def test_vector_assembler_nan_handling(mode: str, expected: list) -> None:
    scorer = Scorer(
        artifact(
            [
                stage("VectorAssembler", ["a", "b"], ["features"], {"handleInvalid": mode}),
                linear_probe(2),
            ],
            numeric=["a", "b"],
            kind="regressor",
        )
    )
    rows = [{"numeric": {"a": 1.0, "b": 2.0}}, {"numeric": {"a": 1.0, "b": None}}]
    assert vector_of(scorer, rows) == expected


def test_vector_assembler_keep_lets_nan_through_to_the_model() -> None:
    scorer = Scorer(
        artifact(
            [
                stage("VectorAssembler", ["a"], ["features"], {"handleInvalid": "keep"}),
                linear_probe(1),
            ],
            numeric=["a"],
            kind="regressor",
        )
    )
    [result] = scorer.score([{"numeric": {"a": math.nan}}])
    assert isinstance(result, ScoreFailure) and result.code == "model_error"


def test_vector_assembler_concatenates_scalars_and_vectors_in_order() -> None:
    scorer = Scorer(
        artifact(
            [
                stage("OneHotEncoder", ["i"], ["v"], {"categorySizes": [3], "dropLast": False}),
                stage("VectorAssembler", ["a", "v", "b"], ["features"]),
                linear_probe(5),
            ],
            numeric=["a", "i", "b"],
            kind="regressor",
        )
    )
    # features = [a, onehot(1) = 0,1,0, b] = [7, 0, 1, 0, 2] -> 7 + 100 + 2 * 10_000
    assert vector_of(scorer, [{"numeric": {"a": 7.0, "i": 1.0, "b": 2.0}}]) == [20107.0]


def test_standard_scaler_mean_std_and_zero_std() -> None:
    def scaled(with_mean: bool, with_std: bool) -> float:
        scorer = Scorer(
            artifact(
                [
                    stage("VectorAssembler", ["a", "b"], ["raw"]),
                    stage(
                        "StandardScaler",
                        ["raw"],
                        ["features"],
                        {"withMean": with_mean, "withStd": with_std},
                        mean=[1.0, 2.0],
                        std=[2.0, 0.0],
                    ),
                    linear_probe(2),
                ],
                numeric=["a", "b"],
                kind="regressor",
            )
        )
        [result] = scorer.score([{"numeric": {"a": 3.0, "b": 5.0}}])
        assert isinstance(result, Prediction)
        return result.score

    assert scaled(True, True) == (3 - 1) / 2 + 10 * 0.0  # zero std scales to 0, as Spark
    assert scaled(False, True) == 3 / 2 + 10 * 0.0
    assert scaled(True, False) == (3 - 1) + 10 * (5 - 2)


def test_imputer_fills_null_nan_and_the_missing_value() -> None:
    scorer = Scorer(
        artifact(
            [
                stage(
                    "Imputer",
                    ["a", "b"],
                    ["a_i", "b_i"],
                    {"missingValue": -1.0},
                    surrogates=[10.0, 20.0],
                ),
                stage("VectorAssembler", ["a_i", "b_i"], ["features"]),
                linear_probe(2),
            ],
            numeric=["a", "b"],
            kind="regressor",
        )
    )
    rows = [
        {"numeric": {"a": 1.0, "b": -1.0}},
        {"numeric": {"a": None, "b": math.nan}},
        {"numeric": {}},
    ]
    assert vector_of(scorer, rows) == [1.0 + 200.0, 10.0 + 200.0, 10.0 + 200.0]


def test_a_feature_of_the_wrong_type_fails_only_its_row() -> None:
    scorer = Scorer(
        artifact(
            [stage("VectorAssembler", ["a"], ["features"]), linear_probe(1)],
            numeric=["a"],
            kind="regressor",
        )
    )
    rows = [{"numeric": {"a": 2.0}}, {"categorical": {"a": "two"}}, {"numeric": {"a": 3.0}}]
    results = scorer.score(rows)
    assert [r.score for r in results if isinstance(r, Prediction)] == [2.0, 3.0]
    assert results[1] == ScoreFailure(
        "invalid_feature", "a must be numeric, got a categorical value"
    )


def test_scores_a_batch_in_one_pass_same_as_row_by_row() -> None:
    scorer = Scorer(
        artifact(
            [
                stage("Imputer", ["a"], ["ai"], surrogates=[0.5]),
                stage("VectorAssembler", ["ai", "b"], ["features"]),
                stage(
                    "LogisticRegression",
                    ["features"],
                    ["p"],
                    coefficients=[[0.3, -0.2]],
                    intercepts=[0.1],
                ),
            ],
            numeric=["a", "b"],
        )
    )
    rng = np.random.default_rng(1)
    rows = [
        {"numeric": {"a": float(x) if x > 0 else None, "b": float(y)}}
        for x, y in rng.normal(size=(300, 2))
    ]
    batch = scorer.score(rows)
    one_by_one = [scorer.score([row])[0] for row in rows]
    # A matrix product over 300 rows and one over a single row may sum in another order
    # (BLAS kernels differ by CPU), so the last bits can differ: 1e-12 is far below any
    # decision a score feeds, and labels must agree exactly.
    assert [p.label for p in batch] == [p.label for p in one_by_one]
    assert [p.score for p in batch] == pytest.approx([p.score for p in one_by_one], abs=1e-12)
    assert [p.probabilities for p in batch] == [
        pytest.approx(p.probabilities, abs=1e-12) for p in one_by_one
    ]
