"""Hand-made login-bot models (seed 001's detector): a logistic regression and a decision tree
over failed logins, account age and country. They stand in for trained models in the demo,
benchmarks and tests until `rdv train` exports real ones; their golden rows are computed by
this scorer, not by Spark."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rdv.model.artifact import FeatureSpec, GoldenRow, ModelArtifact, StageSpec, save_artifact
from rdv.model.scorer import Prediction, Scorer
from rdv_tools.demo.generator import USUAL_COUNTRIES

NUMERIC = ("failed_logins", "account_age_days")
CATEGORICAL = ("country",)
COUNTRIES = USUAL_COUNTRIES  # the categories the example models know


def _front(handle_invalid: str) -> list[StageSpec]:
    keep = handle_invalid == "keep"
    return [
        StageSpec.of(
            "StringIndexer",
            ["country"],
            ["country_idx"],
            {"labels": [list(COUNTRIES)], "handleInvalid": handle_invalid},
        ),
        StageSpec.of(
            "OneHotEncoder",
            ["country_idx"],
            ["country_vec"],
            {"categorySizes": [len(COUNTRIES) + 1 if keep else len(COUNTRIES)], "dropLast": True},
        ),
        StageSpec.of("Imputer", ["account_age_days"], ["age_filled"], surrogates=[365.0]),
        StageSpec.of(
            "VectorAssembler", ["failed_logins", "age_filled", "country_vec"], ["features"]
        ),
    ]


def _artifact(stages: list[StageSpec], name: str, version: str) -> ModelArtifact:
    features = tuple(
        [FeatureSpec(n, "numeric") for n in NUMERIC]
        + [FeatureSpec(c, "categorical", COUNTRIES) for c in CATEGORICAL]
    )
    draft = ModelArtifact(
        name, version, "classifier", features, tuple(stages), ("human", "bot"), ()
    )
    golden = []
    scorer = Scorer(draft)
    for logins, age, country in [(0, 900, "US"), (2, 30, "FR"), (7, 3, "DE"), (12, 1, "FR")]:
        numeric: dict[str, float | None] = {
            "failed_logins": float(logins),
            "account_age_days": float(age),
        }
        categorical: dict[str, str | None] = {"country": country}
        [result] = scorer.score([{"numeric": numeric, "categorical": categorical}])
        assert isinstance(result, Prediction)
        golden.append(GoldenRow(numeric, categorical, result.prediction, result.probabilities))
    return ModelArtifact(
        name,
        version,
        "classifier",
        features,
        tuple(stages),
        ("human", "bot"),
        tuple(golden),
        {"source": "rdv_tools.demo.examples"},
    )


def login_bot_logistic(
    directory: Path,
    version: str = "1",
    name: str = "login-bot",
    slope: float = 0.8,
    handle_invalid: str = "error",
) -> Path:
    width = 2 + len(COUNTRIES) + (1 if handle_invalid == "keep" else 0) - 1
    stages = [
        *_front(handle_invalid),
        StageSpec.of(
            "LogisticRegression",
            ["features"],
            ["p"],
            coefficients=[[slope, -0.01] + [0.2] * (width - 2)],
            intercepts=[-1.0],
        ),
    ]
    return save_artifact(_artifact(stages, name, version), directory)


def login_bot_tree(directory: Path, version: str = "1", name: str = "login-bot") -> Path:
    n = 3
    stages = [
        *_front("keep"),
        StageSpec.of(
            "DecisionTreeClassifier",
            ["features"],
            ["p"],
            feature=[0, -1, -1],
            threshold=[3.5, 0.0, 0.0],
            left=[1, -1, -1],
            right=[2, -1, -1],
            leaf_value=np.zeros(n),
            roots=[0],
            tree_weights=[1.0],
            split_categorical=np.zeros(n),
            leaf_stats=[[0.0, 0.0], [90.0, 10.0], [20.0, 80.0]],
        ),
    ]
    return save_artifact(_artifact(stages, name, version), directory)
