"""Model artifacts for the integration tests: the login-bot detector of seed 001, by hand."""

from __future__ import annotations

from pathlib import Path

from rdv.model.artifact import save_artifact
from tests.unit.model.builders import artifact, stage, tree

FEATURES = {"numeric": ["failed_logins", "account_age_days"], "categorical": ["country"]}


def _front(handle_invalid: str) -> list:
    return [
        stage(
            "StringIndexer",
            ["country"],
            ["country_idx"],
            {"labels": [["US", "FR", "DE"]], "handleInvalid": handle_invalid},
        ),
        stage(
            "OneHotEncoder",
            ["country_idx"],
            ["country_vec"],
            {"categorySizes": [4 if handle_invalid == "keep" else 3], "dropLast": True},
        ),
        stage("Imputer", ["account_age_days"], ["age_filled"], surrogates=[365.0]),
        stage("VectorAssembler", ["failed_logins", "age_filled", "country_vec"], ["features"]),
    ]


def logistic(
    directory: Path,
    version: str = "1",
    handle_invalid: str = "error",
    name: str = "login-bot",
    slope: float = 0.8,
) -> Path:
    width = 2 + (4 if handle_invalid == "keep" else 3) - 1
    stages = [
        *_front(handle_invalid),
        stage(
            "LogisticRegression",
            ["features"],
            ["p"],
            coefficients=[[slope, -0.01] + [0.2] * (width - 2)],
            intercepts=[-1.0],
        ),
    ]
    return save_artifact(
        artifact(stages, **FEATURES, labels=["human", "bot"], name=name, version=version),
        directory,
    )


def decision_tree(directory: Path, version: str = "0", name: str = "login-bot") -> Path:
    nodes = [
        {"feature": 0, "threshold": 3.5, "left": 1, "right": 2},
        {"stats": [90.0, 10.0]},
        {"stats": [20.0, 80.0]},
    ]
    stages = [*_front("keep"), tree("DecisionTreeClassifier", nodes, [0], classes=2)]
    return save_artifact(
        artifact(stages, **FEATURES, labels=["human", "bot"], name=name, version=version),
        directory,
    )
