"""Training on local Spark: a model is trained, evaluated on held-out data, gated, exported
and registered, and each gate refuses on purpose when its condition is broken."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from rdv.decoy.archive import Archive, archive_row
from rdv.errors import ConfigError
from rdv.kafka import Message
from rdv.model import Scorer
from rdv.model.registry import Registry
from rdv.protocol import new_request
from rdv.trainer.config import TrainConfig, load_train_config
from rdv.trainer.train import train
from rdv_tools.demo.generator import login_rows, write_csv
from tests.cli import run_rdv

# Training checks no timing: it runs in the first part of `make test`, beside others.
pytestmark = pytest.mark.parallel


def config(tmp: Path, version: str, data: str, **changes: Any) -> TrainConfig:
    return load_train_config(write_config(tmp, version, data, **changes))


def write_config(tmp: Path, version: str, data: str, **changes: Any) -> Path:
    """train-<version>.yaml in `tmp` (paths in it relative to `tmp`), as a user writes one."""
    raw: dict[str, Any] = {
        "name": "login-bot",
        "version": version,
        "data": data,
        "positive": "bot",
        "numeric": ["failed_logins", "account_age_days"],
        "categorical": ["country", "device"],
        "estimator": "logistic_regression",
        "grid": {"regParam": [0.0, 0.01]},
        "folds": 2,
        "registry": "registry",
        **changes,
    }
    path = tmp / f"train-{version}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def gate(outcome: Any, name: str) -> Any:
    return next(g for g in outcome.report if g.name == name)


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("training")
    write_csv(tmp / "clean.csv", login_rows(3000, seed=1, bad_share=0.02))
    write_csv(tmp / "broken.csv", login_rows(1000, seed=2, bad_share=0.3))
    write_csv(tmp / "drifted.csv", login_rows(3000, seed=3, drift=0.9))
    return tmp


@pytest.fixture(scope="module")
def champion(spark: Any, datasets: Path) -> Any:
    """login-bot@1, trained on the clean rows, registered and aliased champion: what the other
    tests compare with. Made here, so that no test depends on another having run first."""
    outcome = train(spark, config(datasets, "1", "clean.csv"))
    Registry(datasets / "registry").alias("champion", "login-bot@1")
    return outcome


def test_train_evaluate_gate_export_and_register(spark: Any, datasets: Path, champion: Any) -> None:
    outcome = champion
    assert all(g.passed for g in outcome.report), outcome.report
    assert outcome.metrics["auc"] > 0.9 and outcome.metrics["log_loss"] < 0.5
    assert outcome.rows["bad"] > 0  # broken rows are counted, not silently dropped
    assert outcome.rows["train"] + outcome.rows["test"] + outcome.rows["bad"] == 3000
    entry = Registry(datasets / "registry").get("login-bot@1")
    assert entry.info["lineage"]["spark"] == spark.version
    assert entry.info["iterations"] > 0 and entry.info["params"]["regParam"] in (0.0, 0.01)
    scorer = Scorer(entry.artifact)
    assert scorer.golden_mismatches() == []  # numpy reproduces Spark on the held-out rows
    with pytest.raises(ConfigError, match="never overwritten"):
        train(spark, config(datasets, "1", "clean.csv"))


def test_score_batch_precomputes_on_spark_like_the_workers_score(
    spark: Any, datasets: Path, champion: Any
) -> None:
    from rdv.model import Prediction
    from rdv.trainer.batch import score_batch

    entry = Registry(datasets / "registry").get("login-bot@1")
    count = score_batch(spark, entry, datasets / "scored", csv=datasets / "clean.csv")
    assert count == 3000  # every row, the broken ones with their numbers imputed
    rows = spark.read.parquet(str(datasets / "scored")).limit(200).collect()
    numpy = Scorer(entry.artifact).score(
        [
            {
                "numeric": {
                    "failed_logins": r["failed_logins"],
                    "account_age_days": r["account_age_days"],
                },
                "categorical": {"country": r["country"], "device": r["device"]},
            }
            for r in rows
        ]
    )
    for row, result in zip(rows, numpy, strict=True):
        assert isinstance(result, Prediction)
        assert abs(row["score"] - result.score) < 1e-9 and row["prediction"] == result.prediction


def test_parquet_input_trains_like_csv(spark: Any, datasets: Path) -> None:
    frame = spark.read.option("header", True).csv(str(datasets / "clean.csv"))
    frame.write.mode("overwrite").parquet(str(datasets / "clean.parquet"))
    outcome = train(spark, config(datasets, "p1", "clean.parquet", registry="parquet-registry"))
    assert outcome.entry is not None and outcome.metrics["auc"] > 0.9
    assert outcome.rows["total"] == 3000 and outcome.rows["bad"] > 0


def test_too_many_bad_records_fail_their_gate(spark: Any, datasets: Path) -> None:
    outcome = train(spark, config(datasets, "b1", "broken.csv", registry="other"))
    bad = gate(outcome, "bad records")
    assert not bad.passed and "limit 5.0%" in bad.detail
    assert outcome.entry is None and not (datasets / "other" / "login-bot@b1").exists()


def test_the_champion_gates_a_worse_model(spark: Any, datasets: Path, champion: Any) -> None:
    # A one-split tree cannot rank bots as well as the champion on the same held-out rows.
    stump = train(
        spark,
        config(
            datasets,
            "2",
            "clean.csv",
            estimator="decision_tree",
            grid={"maxDepth": [1]},
            gates={"metric_margin": 0.0},
        ),
    )
    held_out = gate(stump, "held-out AUC")
    assert not held_out.passed and "vs champion" in held_out.detail
    assert stump.entry is None


def test_an_iteration_count_far_from_the_last_run_fails_its_gate(
    spark: Any, datasets: Path, champion: Any
) -> None:
    cut_short = train(
        spark, config(datasets, "5", "clean.csv", grid={"regParam": [0.0], "maxIter": [1]})
    )
    iterations = gate(cut_short, "iterations")
    assert not iterations.passed and "iterations vs" in iterations.detail
    assert cut_short.entry is None


def test_shadow_replay_refuses_a_model_whose_scores_move(
    spark: Any, datasets: Path, champion: Any
) -> None:
    archive = Archive(datasets / "archive", "test", 10**6, 10**9, 3600)
    for n, row in enumerate(login_rows(500, seed=9)):
        request = new_request(
            {"failed_logins": row["failed_logins"], "account_age_days": row["account_age_days"]},
            {"country": row["country"], "device": row["device"]},
        )
        msg = Message("requests", 0, n, b"k", b"v", (), int(time.time() * 1000))
        archive.add(msg, archive_row(msg, request, None, time.time_ns() // 1000))
    archive.flush()
    strict = {"max_psi": 0.0001, "metric_margin": 1.0, "iteration_band": 100.0, "replay": "archive"}
    outcome = train(spark, config(datasets, "3", "drifted.csv", gates=strict))
    replay = gate(outcome, "shadow replay")
    assert not replay.passed and "on 500 archived inputs" in replay.detail
    relaxed = train(spark, config(datasets, "4", "clean.csv", gates={**strict, "max_psi": 5.0}))
    assert gate(relaxed, "shadow replay").passed and relaxed.entry is not None


# Six `rdv` runs, two of them training on Spark, beside another test's Spark job: 130-216 s
# in CI runs of 2026-12-03, and once past pytest's 300 s default; each run has 600 s itself.
@pytest.mark.timeout(900)
def test_the_cli_generates_trains_registers_and_refuses(tmp_path: Path) -> None:
    import subprocess

    def rdv(*args: str) -> subprocess.CompletedProcess[str]:
        return run_rdv(*args, cwd=tmp_path, timeout=600)

    made = rdv("data", "generate", "--out", "logins.csv", "--rows", "1500", "--bad-share", "0.2")
    assert made.returncode == 0 and "wrote 1500 rows" in made.stderr
    settings = {
        "name": "cli-bot",
        "version": "1",
        "data": "logins.csv",
        "positive": "bot",
        "numeric": ["failed_logins", "account_age_days"],
        "categorical": ["country"],
        "estimator": "logistic_regression",
        "folds": 2,
        "registry": "reg",
    }
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(settings))
    refused = rdv("train", "--config", "train.yaml", "--master", "local[1]")
    assert refused.returncode == 1, refused.stderr[-2000:]
    assert "NO" in refused.stdout and "bad records" in refused.stdout
    assert "not registered: a gate failed" in refused.stderr

    relaxed = {**settings, "gates": {"max_bad_share": 0.5}}
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(relaxed))
    trained = rdv("train", "--config", "train.yaml", "--master", "local[1]")
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert "registered cli-bot@1" in trained.stderr
    listed = rdv("models", "list", "--registry", "reg")
    assert "cli-bot@1" in listed.stdout
    inspected = rdv("models", "inspect", "cli-bot@1", "--registry", "reg")
    assert "cli-bot@1: LogisticRegression (classifier)" in inspected.stdout
    assert "country=" in inspected.stdout
    scored = rdv(
        "score-batch",
        "cli-bot@1",
        "--input",
        "logins.csv",
        "--out",
        "scored",
        "--registry",
        "reg",
        "--master",
        "local[1]",
    )
    assert scored.returncode == 0, scored.stderr[-2000:]
    assert "scored 1500 rows with cli-bot@1" in scored.stderr

    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({**settings, "estimator": "svm"}))
    wrong = rdv("train", "--config", "bad.yaml")
    assert wrong.returncode == 2 and wrong.stderr.startswith("error: ")
    assert "estimator" in wrong.stderr and "Traceback" not in wrong.stderr


def test_a_regressor_trains_with_rmse_and_exports_with_parity(spark: Any, tmp_path: Path) -> None:
    import csv
    import random

    rng = random.Random(4)
    with open(tmp_path / "values.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["failed_logins", "account_age_days", "country", "value"])
        for _ in range(1500):
            logins, age = rng.randint(0, 10), rng.uniform(0, 100)
            country = rng.choice(["US", "FR", "DE"])
            value = 3 * logins - 0.05 * age + (2 if country == "FR" else 0) + rng.gauss(0, 0.5)
            writer.writerow([logins, round(age, 2), country, round(value, 3)])
        writer.writerow(["2", "10", "US", "not a number"])  # a broken label
    raw = {
        "name": "value-model",
        "version": "1",
        "data": "values.csv",
        "label": "value",
        "numeric": ["failed_logins", "account_age_days"],
        "categorical": ["country"],
        "estimator": "linear_regression",
        "folds": 2,
        "registry": "registry",
    }
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(raw))
    outcome = train(spark, load_train_config(tmp_path / "train.yaml"))
    assert outcome.entry is not None, outcome.report
    assert outcome.metrics["rmse"] < 0.7 and outcome.metrics["r2"] > 0.98
    assert outcome.rows["bad"] == 1
    assert gate(outcome, "held-out RMSE").passed
    artifact = outcome.entry.artifact
    assert artifact.kind == "regressor" and artifact.labels is None
    assert Scorer(artifact).golden_mismatches() == []
    _score_batch_of_a_regressor_from_the_archive(spark, outcome.entry, tmp_path)


def _score_batch_of_a_regressor_from_the_archive(spark: Any, entry: Any, tmp_path: Path) -> None:
    """`rdv score-batch --archive` on a regressor (it failed: no probability column): the
    decoy archive's rows scored once each, the undecodable left out, as the workers score."""
    from rdv.codec import Codec
    from rdv.decoy.archive import Archive, archive_row
    from rdv.kafka import Message
    from rdv.model import Prediction
    from rdv.protocol import new_request
    from rdv.trainer.batch import score_batch

    codec = Codec()
    archive = Archive(tmp_path / "archive", "decoy-1", 1000, 1 << 30, 3600)
    requests = [
        new_request({"failed_logins": float(i % 7), "account_age_days": 3.0 * i}, {"country": c})
        for i, c in enumerate(["US", "FR", "DE"] * 4)
    ]
    for offset, request in enumerate(requests):
        msg = Message("requests", 0, offset, None, codec.encode("Request", request), (), 1_000)
        row = archive_row(msg, dict(request), None, 1_000_000)
        archive.add(msg, row)
        if offset == 0:
            archive.add(msg, dict(row))  # a row re-read after a crash: the same dedupe key
    bad = Message("requests", 0, len(requests), None, b"\xffnot avro", (), 1_000)
    archive.add(bad, archive_row(bad, None, "unrecognised framing", 1_000_000))
    archive.flush()
    archive.close()

    count = score_batch(spark, entry, tmp_path / "scored", archive=tmp_path / "archive")
    assert count == len(requests)
    scored = {r["request_id"]: r for r in spark.read.parquet(str(tmp_path / "scored")).collect()}
    expected = Scorer(entry.artifact).score([r["features"] for r in requests])
    for request, want in zip(requests, expected, strict=True):
        assert isinstance(want, Prediction)
        assert abs(scored[request["request_id"]]["score"] - want.score) < 1e-9
