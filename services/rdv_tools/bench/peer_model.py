"""Build the scikit-learn twin of a login-bot logistic regression, for MLServer.

Runs under MLServer's own Python (its virtualenv has scikit-learn; Rendezvous's does not), so
it imports nothing from `rdv`. Reads a JSON spec on stdin, writes `model.joblib` and
`model-settings.json` into the directory given, and prints the twin's bot probabilities for
the spec's check rows, so the caller can compare them with its own scorer.

The pipeline takes the same raw columns as the Rendezvous model and does what its Spark stages
do: impute a missing account age, one-hot the country with the last category dropped, then a
logistic regression with the same coefficients and intercept."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder


def build(spec: dict[str, Any]) -> Pipeline:
    countries = spec["countries"]
    front = ColumnTransformer(
        [
            ("logins", "passthrough", ["failed_logins"]),
            (
                "age",
                SimpleImputer(strategy="constant", fill_value=spec["age_surrogate"]),
                ["account_age_days"],
            ),
            (
                "country",
                OneHotEncoder(categories=[countries], drop=[countries[-1]], handle_unknown="error"),
                ["country"],
            ),
        ]
    )
    logistic = LogisticRegression()
    # Set, not fitted: the twin must score exactly as the Rendezvous model does.
    logistic.coef_ = np.asarray([spec["coefficients"]], dtype=float)
    logistic.intercept_ = np.asarray([spec["intercept"]], dtype=float)
    logistic.classes_ = np.asarray([0, 1])
    logistic.n_features_in_ = len(spec["coefficients"])
    front.fit(pd.DataFrame(spec["check"]))  # learns column positions only: categories are given
    return Pipeline([("front", front), ("logistic", logistic)])


def main() -> None:
    target = Path(sys.argv[1])
    spec = json.load(sys.stdin)
    pipeline = build(spec)
    target.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, target / "model.joblib")
    settings = {
        "name": spec["name"],
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": spec["version"]},
    }
    (target / "model-settings.json").write_text(json.dumps(settings))
    probabilities = pipeline.predict_proba(pd.DataFrame(spec["check"]))[:, 1]
    print(json.dumps([float(p) for p in probabilities]))


if __name__ == "__main__":
    main()
