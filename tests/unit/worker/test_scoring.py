"""The worker's normal path: a batch of good requests becomes one Score each, in one pass of
the model, on the partition each request came from."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from rdv.codec import Codec
from rdv.kafka import Message
from rdv.model import Prediction, Scorer, load_artifact
from rdv.protocol import new_request
from rdv.worker.scoring import BatchScorer
from rdv.worker.settings import WorkerSettings
from rdv_tools.demo.examples import login_bot_logistic

CODEC = Codec()
REQUESTS = [
    new_request({"failed_logins": 0.0, "account_age_days": 900.0}, {"country": "US"}, key="a"),
    new_request({"failed_logins": 7.0, "account_age_days": 3.0}, {"country": "DE"}, key="b"),
    new_request({"failed_logins": 12.0, "account_age_days": None}, {"country": "FR"}, key="c"),
]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(login_bot_logistic(tmp_path_factory.mktemp("m") / "m", "3"))


def worker(model: Path, **settings: object) -> BatchScorer:
    return BatchScorer(
        load_artifact(model),
        WorkerSettings(model=model, instance="w:1", role="champion", **settings),  # type: ignore[arg-type]
        CODEC,
        random.Random(0),
    )


def batch() -> list[Message]:
    return [
        Message(
            "requests", partition, 10 + partition, r["key"].encode(), CODEC.encode("Request", r)
        )
        for partition, r in enumerate(REQUESTS)
    ]


def test_each_request_gets_the_score_the_model_gives_it(model: Path) -> None:
    outcome = worker(model).handle(batch())
    assert (outcome.scored, outcome.errors, outcome.dead_letters) == (3, {}, 0)
    expected = Scorer(load_artifact(model)).score([r["features"] for r in REQUESTS])
    for out, request, want in zip(outcome.outgoing, REQUESTS, expected, strict=True):
        score = CODEC.decode("Score", out.value)
        assert isinstance(want, Prediction)
        assert score["request_id"] == request["request_id"] and score["key"] == request["key"]
        # One pass over the batch scores each row as scoring it alone would, to the last bits
        # that a different summation order may move.
        assert score["score"] == pytest.approx(want.score, abs=1e-12)
        assert score["label"] == want.label and score["error"] is None
        assert score["model"] == {
            "name": "login-bot",
            "version": "3",
            "instance": "w:1",
            "role": "champion",
        }


def test_scores_go_to_the_partition_and_carry_the_model_in_headers(model: Path) -> None:
    outcome = worker(model, results_topic="scores").handle(batch())
    assert [(o.topic, o.partition, o.key) for o in outcome.outgoing] == [
        ("scores", 0, b"a"),
        ("scores", 1, b"b"),
        ("scores", 2, b"c"),
    ]
    headers = dict(outcome.outgoing[0].headers)
    assert headers["rdv-model"] == b"login-bot@3"
    offsets = [CODEC.decode("Score", o.value)["input_offset"] for o in outcome.outgoing]
    assert offsets == [10, 11, 12]


def test_an_injected_failure_is_an_error_score_not_a_dead_letter(model: Path) -> None:
    outcome = worker(model, fail_rate=1.0).handle(batch())
    assert (outcome.scored, outcome.errors, outcome.dead_letters) == (0, {"model_error": 3}, 0)
    errors = [CODEC.decode("Score", o.value)["error"] for o in outcome.outgoing]
    assert [e["code"] for e in errors] == ["model_error"] * 3
