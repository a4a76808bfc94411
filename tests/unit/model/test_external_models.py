"""ONNX and Python models: packaged with golden rows, scored in batches like the stages, and
refused with one clear line when they cannot be served as they were made."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rdv.errors import ConfigError
from rdv.model import ArtifactError, Prediction, ScoreFailure, Scorer, load_artifact
from rdv.model.artifact import FeatureSpec, ModelArtifact
from rdv.model.packaging import package_model, parse_features, read_golden
from tests.external_models import (
    LABELS,
    golden_lines,
    onnx_artifact,
    onnx_file,
    python_artifact,
    python_model_files,
    sklearn_pipeline,
    training_frame,
)

LOGIN_FEATURES = parse_features("failed_logins,account_age_days,country:categorical")


def row(logins: float | None, age: float | None, country: str | None = "FR") -> dict:
    return {
        "numeric": {"failed_logins": logins, "account_age_days": age},
        "categorical": {"country": country},
    }


def test_an_onnx_pipeline_scores_as_scikit_learn_did(tmp_path: Path) -> None:
    artifact = onnx_artifact(tmp_path, "bot-onnx", "1")
    pipeline = sklearn_pipeline()
    frame, _ = training_frame(50, seed=21)
    expected = pipeline.predict_proba(frame)
    rows = [
        row(
            r.failed_logins, None if np.isnan(r.account_age_days) else r.account_age_days, r.country
        )
        for r in frame.itertuples()
    ]
    got = Scorer(load_artifact(artifact.path)).score(rows)
    assert all(isinstance(g, Prediction) for g in got)
    probabilities = np.array([g.probabilities for g in got if isinstance(g, Prediction)])
    assert np.abs(probabilities - expected).max() < 1e-5  # float32 graph, float64 library
    assert [g.label for g in got if isinstance(g, Prediction)] == [
        LABELS[i] for i in pipeline.predict(frame)
    ]


def test_zipmap_output_scores_like_the_plain_one(tmp_path: Path) -> None:
    pipeline = sklearn_pipeline()
    scored = {}
    for zipmap in (False, True):
        artifact = package_model(
            "onnx",
            onnx_file(pipeline, tmp_path / f"z{zipmap}.onnx", zipmap=zipmap),
            name="z",
            version=str(int(zipmap)),
            kind="classifier",
            features=LOGIN_FEATURES,
            labels=LABELS,
            directory=tmp_path / f"z{zipmap}",
        )
        scored[zipmap] = Scorer(artifact).score([row(5, 3), row(0, 900, "DE")])
    assert scored[True] == scored[False]


def test_a_changed_onnx_file_is_refused_by_its_checksum(tmp_path: Path) -> None:
    artifact = onnx_artifact(tmp_path, "bot-onnx", "1")
    assert artifact.path is not None
    graph = artifact.path / "model.onnx"
    graph.write_bytes(graph.read_bytes() + b"\0")
    with pytest.raises(ArtifactError, match=r"model.onnx: checksum mismatch"):
        load_artifact(artifact.path)


def test_golden_rows_the_model_does_not_reproduce_refuse_the_package(tmp_path: Path) -> None:
    pipeline = sklearn_pipeline()
    golden = golden_lines(pipeline, tmp_path / "g.jsonl", count=5)
    lines = [json.loads(line) for line in golden.read_text().splitlines()]
    lines[2]["probability"] = [0.5, 0.5]  # what another model, or a bad conversion, gives
    golden.write_text("\n".join(json.dumps(line) for line in lines))
    with pytest.raises(ArtifactError, match=r"does not reproduce its golden rows.*row 2"):
        package_model(
            "onnx",
            onnx_file(pipeline, tmp_path / "m.onnx"),
            name="m",
            version="1",
            kind="classifier",
            features=LOGIN_FEATURES,
            labels=LABELS,
            golden=list(read_golden(golden)),
            directory=tmp_path / "m@1",
        )
    assert not (tmp_path / "m@1").exists()


def test_a_single_input_graph_takes_the_features_in_order(tmp_path: Path) -> None:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LinearRegression

    x = np.array([[1.0, 2.0], [2.0, 0.0], [3.0, 1.0], [0.0, 5.0]])
    model = LinearRegression().fit(x, x @ np.array([2.0, -1.0]) + 0.5)
    graph = tmp_path / "lin.onnx"
    graph.write_bytes(
        to_onnx(model, initial_types=[("x", FloatTensorType([None, 2]))]).SerializeToString()
    )
    artifact = package_model(
        "onnx",
        graph,
        name="lin",
        version="1",
        kind="regressor",
        features=parse_features("a,b"),
        directory=tmp_path / "lin@1",
    )
    [got] = Scorer(artifact).score([{"numeric": {"a": 4.0, "b": 1.0}, "categorical": {}}])
    assert isinstance(got, Prediction) and got.score == pytest.approx(7.5, abs=1e-4)


def test_a_python_model_fails_only_the_row_it_refuses(tmp_path: Path) -> None:
    artifact = python_artifact(tmp_path, "rules", "1")
    got = Scorer(load_artifact(artifact.path)).score(
        [
            {"numeric": {"failed_logins": 9.0}, "categorical": {}},
            {"numeric": {"failed_logins": -1.0}, "categorical": {}},
            {"numeric": {"failed_logins": 0.0, "account_age_days": 800.0}, "categorical": {}},
        ]
    )
    assert isinstance(got[0], Prediction) and got[0].label == "bot"
    assert got[1] == ScoreFailure("model_error", "ValueError: failed_logins cannot be negative")
    assert isinstance(got[2], Prediction) and got[2].label == "human"


def package_rules(module: Path, directory: Path) -> ModelArtifact:
    """A classifier of class Rules over failed_logins alone, from `module`."""
    return package_model(
        "python",
        module,
        name=directory.name.split("@")[0],
        version="1",
        kind="classifier",
        features=parse_features("failed_logins"),
        class_name="Rules",
        directory=directory,
    )


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import no_such_library\n", "importing it failed: ModuleNotFoundError"),
        (
            "class Rules:\n    def load(self, d): pass\n",
            r"rules.py: Rules has no predict\(\) method",
        ),
        (
            "class Rules:\n    def load(self, d): raise OSError('weights gone')\n"
            "    def predict(self, b): return b\n",
            r"Rules.load\(\) failed: OSError: weights gone",
        ),
    ],
)
def test_a_python_model_that_cannot_load_is_refused_in_one_line(
    tmp_path: Path, source: str, reason: str
) -> None:
    module = tmp_path / "rules.py"
    module.write_text(source)
    with pytest.raises(ArtifactError, match=reason):
        package_rules(module, tmp_path / "r@1")


def test_a_python_model_giving_the_wrong_shape_fails_its_rows(tmp_path: Path) -> None:
    module, _ = python_model_files(tmp_path / "src")
    module.write_text(
        "import numpy as np\nclass Rules:\n    def load(self, d): pass\n"
        "    def predict(self, b): return np.zeros(len(b['failed_logins']))\n"
    )
    got = Scorer(package_rules(module, tmp_path / "flat@1")).score(
        [{"numeric": {"failed_logins": 1.0}, "categorical": {}}] * 2
    )
    assert all(isinstance(g, ScoreFailure) and "shape" in g.message for g in got)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "names no feature"), ("age:number", "must be numeric or categorical")],
)
def test_bad_feature_lists_are_one_line(text: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        parse_features(text)


def test_features_default_to_numeric_and_keep_their_order() -> None:
    assert parse_features("b, a:categorical") == (
        FeatureSpec("b", "numeric"),
        FeatureSpec("a", "categorical"),
    )
