"""Every estimator kind against outputs worked out by hand."""

import math

import pytest

from rdv.model import Prediction, Scorer
from tests.unit.model.builders import artifact, assembled, stage, tree


def sigmoid(m: float) -> float:
    return 1.0 / (1.0 + math.exp(-m))


def one(scorer: Scorer, **numeric: float) -> Prediction:
    [result] = scorer.score([{"numeric": numeric}])
    assert isinstance(result, Prediction), result
    return result


def test_binomial_logistic_regression_probability_and_threshold() -> None:
    def model(threshold: float) -> Scorer:
        return Scorer(
            artifact(
                [
                    assembled(["a", "b"]),
                    stage(
                        "LogisticRegression",
                        ["features"],
                        ["p"],
                        {"threshold": threshold},
                        coefficients=[[2.0, -1.0]],
                        intercepts=[0.5],
                    ),
                ],
                numeric=["a", "b"],
                labels=["human", "bot"],
            )
        )

    result = one(model(0.5), a=1.0, b=1.0)  # margin 2 - 1 + 0.5 = 1.5
    assert result.score == pytest.approx(sigmoid(1.5), abs=1e-12)
    assert result.probabilities == pytest.approx((1 - sigmoid(1.5), sigmoid(1.5)), abs=1e-12)
    assert (result.prediction, result.label) == (1.0, "bot")
    assert one(model(0.9), a=1.0, b=1.0).label == "human"  # 0.8176 is not above 0.9


def test_multinomial_logistic_regression_softmax() -> None:
    scorer = Scorer(
        artifact(
            [
                assembled(["a", "b"]),
                stage(
                    "LogisticRegression",
                    ["features"],
                    ["p"],
                    {"family": "multinomial"},
                    coefficients=[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]],
                    intercepts=[0.0, 0.0, 0.5],
                ),
            ],
            numeric=["a", "b"],
            labels=["x", "y", "z"],
        )
    )
    result = one(scorer, a=2.0, b=1.0)  # margins [2, 1, 0.5]
    z = math.exp(2) + math.exp(1) + math.exp(0.5)
    assert result.probabilities == pytest.approx(
        (math.exp(2) / z, math.exp(1) / z, math.exp(0.5) / z), abs=1e-12
    )
    assert (result.label, result.score) == ("x", pytest.approx(math.exp(2) / z))


def test_linear_regression() -> None:
    scorer = Scorer(
        artifact(
            [
                assembled(["a", "b"]),
                stage(
                    "LinearRegression",
                    ["features"],
                    ["y"],
                    coefficients=[2.0, 3.0],
                    intercept=[1.0],
                ),
            ],
            numeric=["a", "b"],
            kind="regressor",
        )
    )
    assert one(scorer, a=1.0, b=-2.0).score == 2 - 6 + 1


# One tree used below: x0 <= 0.5 ? leaf A : (x1 in {0, 2} ? leaf B : leaf C)
def _nodes(a: dict, b: dict, c: dict) -> list[dict]:
    return [
        {"feature": 0, "threshold": 0.5, "left": 1, "right": 2},
        a,
        {"feature": 1, "left_categories": [0, 2], "left": 3, "right": 4},
        b,
        c,
    ]


CASES = [
    ({"a": 0.2, "b": 1.0}, "A"),
    ({"a": 0.9, "b": 2.0}, "B"),
    ({"a": 0.9, "b": 1.0}, "C"),
    ({"a": 0.5, "b": 9.0}, "A"),  # threshold itself goes left
    ({"a": math.nan, "b": 0.0}, "B"),
]  # NaN is not <= 0.5: right


@pytest.mark.parametrize(("row", "leaf"), CASES)
def test_decision_tree_classifier_counts_become_probabilities(row: dict, leaf: str) -> None:
    stats = {"A": [3.0, 1.0], "B": [0.0, 4.0], "C": [2.0, 2.0]}
    nodes = _nodes(*({"stats": stats[k]} for k in "ABC"))
    scorer = Scorer(
        artifact(
            [
                stage("VectorAssembler", ["a", "b"], ["features"], {"handleInvalid": "keep"}),
                tree("DecisionTreeClassifier", nodes, [0], classes=2, categories=3),
            ],
            numeric=["a", "b"],
        )
    )
    result = one(scorer, **row)
    expected = [s / sum(stats[leaf]) for s in stats[leaf]]
    assert result.probabilities == pytest.approx(tuple(expected))
    assert result.prediction == float(max(range(2), key=lambda i: (stats[leaf][i], -i)))


def test_decision_tree_regressor() -> None:
    nodes = _nodes({"value": 1.5}, {"value": -2.0}, {"value": 7.0})
    scorer = Scorer(
        artifact(
            [
                assembled(["a", "b"]),
                tree("DecisionTreeRegressor", nodes, [0], categories=3),
            ],
            numeric=["a", "b"],
            kind="regressor",
        )
    )
    assert [one(scorer, **row).score for row, _ in CASES[:3]] == [1.5, -2.0, 7.0]


def _two_trees(kind: str, leaves: list[dict], **extra: object) -> Scorer:
    # tree 1 = the tree above (nodes 0-4); tree 2 = a stump on x1 <= 1.5 (nodes 5-7)
    nodes = [
        *_nodes(*leaves[:3]),
        {"feature": 1, "threshold": 1.5, "left": 6, "right": 7},
        leaves[3],
        leaves[4],
    ]
    classifier = "Classifier" in kind and "GBT" not in kind
    return Scorer(
        artifact(
            [
                assembled(["a", "b"]),
                tree(kind, nodes, [0, 5], classes=2 if classifier else 0, categories=3, **extra),
            ],
            numeric=["a", "b"],
            kind="classifier" if "Classifier" in kind else "regressor",
        )
    )


def test_random_forest_classifier_votes_with_normalised_counts() -> None:
    stats = [[3.0, 1.0], [0.0, 4.0], [2.0, 2.0], [9.0, 1.0], [1.0, 1.0]]
    scorer = _two_trees("RandomForestClassifier", [{"stats": s} for s in stats])
    result = one(scorer, a=0.9, b=2.0)  # tree 1 -> B [0, 1]; tree 2 (2.0 > 1.5) -> [0.5, 0.5]
    assert result.probabilities == pytest.approx((0.25, 0.75))
    assert result.label == "1"
    # tree 1 -> A [0.75, 0.25]; tree 2 (1.0 <= 1.5) -> [0.9, 0.1]: raw [1.65, 0.35]
    assert one(scorer, a=0.1, b=1.0).probabilities == pytest.approx((1.65 / 2, 0.35 / 2))


def test_random_forest_regressor_averages_trees() -> None:
    values = [1.0, 2.0, 3.0, 10.0, 20.0]
    scorer = _two_trees("RandomForestRegressor", [{"value": v} for v in values])
    assert one(scorer, a=0.9, b=2.0).score == (2.0 + 20.0) / 2


def test_gbt_regressor_sums_weighted_trees() -> None:
    values = [1.0, 2.0, 3.0, 10.0, 20.0]
    scorer = _two_trees("GBTRegressor", [{"value": v} for v in values], weights=[1.0, 0.1])
    assert one(scorer, a=0.9, b=1.0).score == pytest.approx(3.0 + 0.1 * 10.0)


def test_gbt_classifier_uses_twice_the_margin() -> None:
    values = [0.4, -0.3, 0.2, -1.0, 0.5]
    scorer = _two_trees("GBTClassifier", [{"value": v} for v in values], weights=[1.0, 0.1])
    result = one(scorer, a=0.9, b=2.0)  # margin -0.3 + 0.1 * 0.5 = -0.25
    p1 = 1 / (1 + math.exp(2 * 0.25))
    assert result.probabilities == pytest.approx((1 - p1, p1), abs=1e-12)
    assert result.prediction == 0.0
    assert one(scorer, a=0.1, b=9.0).prediction == 1.0  # 0.4 + 0.05 > 0


def test_a_deep_forest_matches_a_plain_recursive_walk() -> None:
    import numpy as np

    rng = np.random.default_rng(7)
    nodes, roots = [], []
    for _ in range(20):  # 20 random complete trees of depth 6 over 4 features
        base = len(nodes)
        roots.append(base)
        for i in range(2**6 - 1):
            nodes.append(
                {
                    "feature": int(rng.integers(4)),
                    "threshold": float(rng.normal()),
                    "left": base + 2 * i + 1,
                    "right": base + 2 * i + 2,
                }
            )
        nodes += [{"value": float(rng.normal())} for _ in range(2**6)]
    scorer = Scorer(
        artifact(
            [assembled(list("abcd")), tree("RandomForestRegressor", nodes, roots)],
            numeric=list("abcd"),
            kind="regressor",
        )
    )
    data = rng.normal(size=(200, 4))

    def walk(node: int, x: np.ndarray) -> float:
        while "value" not in nodes[node]:
            n = nodes[node]
            node = n["left"] if x[n["feature"]] <= n["threshold"] else n["right"]
        return float(nodes[node]["value"])

    expected = [sum(walk(r, x) for r in roots) / len(roots) for x in data]
    rows = [{"numeric": dict(zip("abcd", map(float, x), strict=True))} for x in data]
    got = [r.score for r in scorer.score(rows) if isinstance(r, Prediction)]
    assert got == pytest.approx(expected, abs=1e-12)
