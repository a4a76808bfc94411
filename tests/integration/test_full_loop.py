"""The loop of the architecture: the decoy archives requests as the models saw them, the
application sends feedback, Spark trains on the archive joined to feedback, the model passes
its gates and is registered, and a worker serves it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from rdv.kafka import Outgoing, Producer
from rdv.model import load_artifact
from rdv.protocol import new_request
from rdv.settings import make_codec
from rdv.trainer.config import load_train_config
from rdv.trainer.sources import export_feedback
from rdv.trainer.train import train
from rdv_tools.demo.generator import login_rows
from tests.integration.harness import CODEC, read_until, scores_of, send_requests, services
from tests.integration.stack import StackTopics

pytestmark = [pytest.mark.broker, pytest.mark.parallel]


def test_archive_feedback_train_register_serve(
    kafka_bootstrap: str, tmp_path: Path, spark: Any
) -> None:
    stack = StackTopics(kafka_bootstrap)
    archive = tmp_path / "archive"
    producer = Producer(kafka_bootstrap)
    labels: dict[str, str] = {}
    for row in login_rows(1500, seed=5):
        request = new_request(
            {"failed_logins": row["failed_logins"], "account_age_days": row["account_age_days"]},
            {"country": row["country"], "device": row["device"]},
            key=row["request_id"],
        )
        labels[request["request_id"]] = row["label"]
        producer.send(
            Outgoing(stack["requests"], CODEC.encode("Request", request), request["key"].encode())
        )
    for n in range(3):  # bytes no model can read: archived, flagged, counted as bad
        producer.send(Outgoing(stack["requests"], b"\xffbroken", f"bad-{n}".encode()))
    for request_id, label in labels.items():
        feedback = {
            "request_id": request_id,
            "key": request_id,
            "label": label,
            "value": None,
            "reward": None,
            "created_at": int(time.time() * 1000),
            "source": "app",
        }
        producer.send(Outgoing(stack["feedback"], CODEC.encode("Feedback", feedback)))
    producer.flush()

    with services(tmp_path, kafka_bootstrap, stack.env) as launch:
        launch("decoy", "--archive", str(archive), "--roll-seconds", "1")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            files = list(archive.rglob("*.parquet"))
            if files and sum(_rows(f) for f in files) >= 1503:
                break
            time.sleep(0.5)
    assert (
        export_feedback(kafka_bootstrap, stack["feedback"], tmp_path / "fb.parquet", make_codec())
        == 1500
    )

    settings = {
        "name": "login-bot",
        "version": "7",
        "archive": "archive",
        "feedback": "fb.parquet",
        "positive": "bot",
        "numeric": ["failed_logins", "account_age_days"],
        "categorical": ["country", "device"],
        "estimator": "logistic_regression",
        "folds": 2,
        "registry": "registry",
    }
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(settings))
    outcome = train(spark, load_train_config(tmp_path / "train.yaml"))
    assert outcome.entry is not None, outcome.report
    assert outcome.metrics["auc"] > 0.9
    assert outcome.rows["bad"] == 3 and outcome.rows["total"] == 1503
    lineage = outcome.entry.info["lineage"]
    assert lineage["archive_rows"]["undecodable"] == 3
    assert lineage["archive_rows"]["unlabelled"] == 0
    assert lineage["archive_rows"]["from"] <= lineage["archive_rows"]["to"]  # the data range
    assert lineage["archive_rows"]["from"].startswith("20")

    served = outcome.entry.path / "artifact"
    assert load_artifact(served).model_id == "login-bot@7"
    with services(tmp_path, kafka_bootstrap, stack.env) as launch:
        launch("worker", "--model", str(served), "--role", "challenger")
        sent = send_requests(kafka_bootstrap, stack["requests"], 50)
        ids = {r["request_id"] for r in sent}
        scores = [
            s
            for _, s in scores_of(
                read_until(
                    kafka_bootstrap,
                    stack["results"],
                    lambda m: ids <= {s["request_id"] for _, s in scores_of(m)},
                    timeout=90,
                )
            )
            if s["request_id"] in ids
        ]
    assert len(scores) == 50
    assert all(s["model"]["version"] == "7" and s["error"] is None for s in scores)


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.read_metadata(path).num_rows)


def test_data_generate_produces_requests_and_their_feedback(kafka_bootstrap: str) -> None:
    import os
    import subprocess
    import sys

    stack = StackTopics(kafka_bootstrap)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rdv_tools.cli",
            "data",
            "generate",
            "--produce",
            "--rows",
            "40",
            "--bad-share",
            "0.2",
            "--requests-topic",
            stack["requests"],
            "--feedback-topic",
            stack["feedback"],
        ],
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap},
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    sent = int(result.stderr.split("sent ")[1].split()[0])
    assert 20 <= sent < 40  # broken rows are skipped
    requests = read_until(kafka_bootstrap, stack["requests"], lambda m: len(m) >= sent)
    feedback = read_until(kafka_bootstrap, stack["feedback"], lambda m: len(m) >= sent)
    ids = {CODEC.decode("Request", m.value)["request_id"] for m in requests}
    labelled = {
        CODEC.decode("Feedback", m.value)["request_id"]: CODEC.decode("Feedback", m.value)["label"]
        for m in feedback
    }
    assert len(ids) == sent and set(labelled) == ids
    assert set(labelled.values()) <= {"bot", "human"}
