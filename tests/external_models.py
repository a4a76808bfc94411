"""Models made outside Spark, as users bring them: a scikit-learn pipeline converted to ONNX
by skl2onnx, and a custom Python class with its own weights file. Shared by the unit and the
integration tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from rdv.model.artifact import FeatureSpec, ModelArtifact
from rdv.model.packaging import package_model
from rdv_tools.demo.generator import login_rows

NUMERIC = ["failed_logins", "account_age_days"]
CATEGORICAL = ["country"]
LABELS = ("human", "bot")


def frame_of(rows: list[dict[str, Any]]) -> Any:
    """Login rows as the DataFrame scikit-learn is fitted and asked with (NaN: missing)."""
    import pandas as pd

    return pd.DataFrame(
        {
            "failed_logins": [r["failed_logins"] for r in rows],
            "account_age_days": [
                np.nan if r["account_age_days"] is None else r["account_age_days"] for r in rows
            ],
            "country": [r["country"] for r in rows],
        }
    )


def training_frame(count: int = 600, seed: int = 3) -> tuple[Any, np.ndarray]:
    rows = list(login_rows(count, seed))
    return frame_of(rows), np.array([int(r["label"] == "bot") for r in rows])


def sklearn_pipeline() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())])
    features = ColumnTransformer(
        [
            ("num", numeric, NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ]
    )
    frame, labels = training_frame()
    return Pipeline([("features", features), ("model", LogisticRegression())]).fit(frame, labels)


def onnx_file(pipeline: Any, path: Path, zipmap: bool = False) -> Path:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    inputs = [(n, FloatTensorType([None, 1])) for n in NUMERIC]
    inputs += [(c, StringTensorType([None, 1])) for c in CATEGORICAL]
    options = {id(pipeline.steps[-1][1]): {"zipmap": zipmap}}
    graph = to_onnx(pipeline, initial_types=inputs, options=options, target_opset=17)
    path.write_bytes(graph.SerializeToString())
    return path


def golden_lines(pipeline: Any, path: Path, count: int = 40, seed: int = 11) -> Path:
    """What scikit-learn gives for some rows, as `--golden` reads them."""
    rows = list(login_rows(count, seed))
    frame = frame_of(rows)
    probabilities = pipeline.predict_proba(frame)
    lines = []
    for row, p in zip(rows, probabilities, strict=True):
        features = {k: row[k] for k in (*NUMERIC, *CATEGORICAL)}
        lines.append(
            json.dumps(
                {"features": features, "prediction": int(np.argmax(p)), "probability": list(p)}
            )
        )
    path.write_text("\n".join(lines) + "\n")
    return path


PYTHON_MODEL = '''
import json
import numpy as np


class Rules:
    """Bots fail logins on new accounts: a hand-tuned score, its weights in a file."""

    def load(self, directory):
        self.weights = json.loads((directory / "weights.json").read_text())

    def predict(self, batch):
        logins = np.nan_to_num(batch["failed_logins"], nan=0.0)
        age = np.nan_to_num(batch["account_age_days"], nan=365.0)
        if np.any(logins < 0):
            raise ValueError("failed_logins cannot be negative")
        z = self.weights["logins"] * logins - self.weights["age"] * age + self.weights["bias"]
        bot = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1.0 - bot, bot])
'''


def python_model_files(directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    module = directory / "rules.py"
    module.write_text(PYTHON_MODEL)
    weights = directory / "weights.json"
    weights.write_text(json.dumps({"logins": 0.9, "age": 0.01, "bias": -2.0}))
    return module, weights


def onnx_artifact(work: Path, name: str, version: str) -> ModelArtifact:
    pipeline = sklearn_pipeline()
    return package_model(
        "onnx",
        onnx_file(pipeline, work / f"{name}-{version}.onnx"),
        name=name,
        version=version,
        kind="classifier",
        features=(
            FeatureSpec("failed_logins", "numeric"),
            FeatureSpec("account_age_days", "numeric"),
            FeatureSpec("country", "categorical"),
        ),
        labels=LABELS,
        golden=_golden(golden_lines(pipeline, work / f"{name}-{version}.golden.jsonl")),
        directory=work / f"{name}@{version}",
    )


def python_artifact(work: Path, name: str, version: str) -> ModelArtifact:
    module, weights = python_model_files(work / f"{name}-{version}-src")
    return package_model(
        "python",
        module,
        name=name,
        version=version,
        kind="classifier",
        features=(
            FeatureSpec("failed_logins", "numeric"),
            FeatureSpec("account_age_days", "numeric"),
        ),
        labels=LABELS,
        class_name="Rules",
        extra_files=(weights,),
        golden=[
            {"numeric": {"failed_logins": float(n), "account_age_days": 30.0}, "categorical": {}}
            for n in range(6)
        ],
        directory=work / f"{name}@{version}",
    )


def _golden(path: Path) -> list[Any]:
    from rdv.model.packaging import read_golden

    return list(read_golden(path))
