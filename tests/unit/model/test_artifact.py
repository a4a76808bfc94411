"""Loading refuses a bad artifact with one message naming what is wrong."""

import json
import math
from pathlib import Path

import pytest

from rdv.model import ArtifactError, Scorer, load_artifact
from rdv.model.artifact import GoldenRow, save_artifact
from tests.unit.model.builders import artifact, stage

STAGES = [
    stage("Imputer", ["a"], ["ai"], {"missingValue": math.nan}, surrogates=[0.5]),
    stage("StringIndexer", ["c"], ["ci"], {"labels": [["x", "y"]], "handleInvalid": "keep"}),
    stage("OneHotEncoder", ["ci"], ["cv"], {"categorySizes": [3]}),
    stage("VectorAssembler", ["ai", "cv"], ["raw"]),
    stage(
        "StandardScaler",
        ["raw"],
        ["features"],
        {"withStd": True},
        mean=[0, 0, 0],
        std=[2.0, 1.0, 1.0],
    ),
    stage(
        "LogisticRegression", ["features"], ["p"], coefficients=[[1.0, 2.0, -1.0]], intercepts=[0.0]
    ),
]


def saved(tmp_path: Path, stages: list = STAGES, golden: list | None = None) -> Path:
    return save_artifact(
        artifact(
            stages, numeric=["a"], categorical=["c"], labels=["no", "yes"], golden=golden or []
        ),
        tmp_path / "model",
    )


def test_round_trip_keeps_every_stage_and_scores_the_same(tmp_path: Path) -> None:
    original = artifact(STAGES, numeric=["a"], categorical=["c"], labels=["no", "yes"])
    loaded = load_artifact(saved(tmp_path))
    assert loaded.model_id == "m@1"
    assert [s.type for s in loaded.stages] == [s.type for s in STAGES]
    assert math.isnan(loaded.stages[0].params["missingValue"])
    rows = [
        {"numeric": {"a": v}, "categorical": {"c": c}}
        for v in (None, 1.0, -3.0)
        for c in ("x", "y", "z", None)
    ]
    assert Scorer(loaded).score(rows) == Scorer(original).score(rows)


def test_versions_are_never_overwritten(tmp_path: Path) -> None:
    saved(tmp_path)
    with pytest.raises(ArtifactError, match="never overwritten"):
        saved(tmp_path)


def test_a_changed_array_file_fails_its_checksum(tmp_path: Path) -> None:
    directory = saved(tmp_path)
    data = bytearray((directory / "arrays.npz").read_bytes())
    data[-30] ^= 0xFF
    (directory / "arrays.npz").write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"arrays\.npz: checksum mismatch"):
        load_artifact(directory)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.update(format_version=9), "format_version 9 is not supported"),
        (lambda m: m.pop("stages"), "missing 'stages'"),
        (lambda m: m.update(kind="ranker"), "kind must be one of"),
        (lambda m: m["features"][0].update(type="text"), "must be numeric or categorical"),
        (lambda m: m["stages"][0]["arrays"].append("extra"), r"lacks arrays \['extra'\]"),
    ],
)
def test_a_bad_manifest_is_refused_with_the_reason(tmp_path: Path, edit, message: str) -> None:
    directory = saved(tmp_path)
    manifest = json.loads((directory / "manifest.json").read_text())
    edit(manifest)
    (directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=message):
        load_artifact(directory)


def test_missing_directory_and_files(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="not a model artifact directory"):
        load_artifact(tmp_path / "nowhere")
    with pytest.raises(ArtifactError, match=r"cannot read manifest\.json"):
        load_artifact(tmp_path)


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        (
            [
                *STAGES[:4],
                stage("StandardScaler", ["raw"], ["features"], mean=[0], std=[1]),
                STAGES[5],
            ],
            r"StandardScaler: mean/std have shapes \(1,\)/\(1,\), input is 3 wide",
        ),
        (
            [
                *STAGES[:5],
                stage(
                    "LogisticRegression",
                    ["features"],
                    ["p"],
                    coefficients=[[1.0]],
                    intercepts=[0.0],
                ),
            ],
            "model expects 1 features, its input 'features' is 3",
        ),
        ([stage("Bucketizer", ["a"], ["b"]), STAGES[5]], "unsupported stage 'Bucketizer'"),
        ([STAGES[3], STAGES[5]], r"input columns \['ai', 'cv'\] are produced by no earlier stage"),
        (STAGES[:5], "the last stage must be an estimator"),
    ],
)
def test_arrays_that_do_not_fit_the_pipeline_are_refused(
    tmp_path: Path, stages: list, message: str
) -> None:
    with pytest.raises(ArtifactError, match=message):
        Scorer(load_artifact(saved(tmp_path, stages)))


def test_golden_vectors_catch_a_scorer_that_disagrees_with_spark(tmp_path: Path) -> None:
    p = 1 / (1 + math.exp(-(0.5 / 2 + 2.0)))  # a missing -> 0.5, scaled by 1/2; c = x -> slot 0
    good = GoldenRow({"a": None}, {"c": "x"}, 1.0, (1 - p, p))
    wrong = GoldenRow({"a": None}, {"c": "x"}, 1.0, (1 - p + 1e-6, p - 1e-6))
    assert Scorer(load_artifact(saved(tmp_path, golden=[good]))).golden_mismatches() == []
    problems = Scorer(load_artifact(saved(tmp_path / "2", golden=[good, wrong])))
    assert [m.split(":")[0] for m in problems.golden_mismatches()] == ["row 1"]
