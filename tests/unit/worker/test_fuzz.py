"""The worker's decode-and-score path fed random, mutated and hostile requests (hypothesis):
it never raises, gives exactly one Score per message, a finite score or an error, and a dead
letter with a reason for every message it refuses."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdv.codec import Codec
from rdv.kafka import Message
from rdv.model import load_artifact
from rdv.protocol import new_request
from rdv.worker.scoring import BatchScorer
from rdv.worker.settings import WorkerSettings
from rdv_tools.demo.examples import login_bot_logistic, login_bot_tree

CODEC = Codec()
VALID = CODEC.encode("Request", new_request({"failed_logins": 3.0}, {"country": "FR"}, key="k"))
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module", params=["logistic", "tree"])
def scorer(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> BatchScorer:
    directory = tmp_path_factory.mktemp(request.param)
    if request.param == "logistic":
        path = login_bot_logistic(directory / "m", "1", handle_invalid="keep")
    else:
        path = login_bot_tree(directory / "m", "1")
    worker = WorkerSettings(model=Path(path), instance="fuzz:1")
    return BatchScorer(load_artifact(path), worker, CODEC)


def message(value: bytes, offset: int = 0, json_body: bool = False) -> Message:
    headers = (("content-type", b"application/json"),) if json_body else ()
    return Message(
        topic="requests", partition=0, offset=offset, key=b"k", value=value, headers=headers
    )


def check(scorer: BatchScorer, batch: list[Message]) -> list[dict[str, Any]]:
    outcome = scorer.handle(batch)
    scores = [CODEC.decode("Score", o.value) for o in outcome.outgoing if o.topic == "results"]
    letters = [
        CODEC.decode("DeadLetter", o.value) for o in outcome.outgoing if o.topic == "dead-letters"
    ]
    assert len(scores) == len(batch)  # one Score per message, whatever it held
    assert {s["input_offset"] for s in scores} == {m.offset for m in batch}
    for score in scores:
        if score["error"] is None:
            assert score["score"] is not None and math.isfinite(score["score"]), score
        else:
            assert score["error"]["message"]
    refused = [s for s in scores if s["error"] is not None]
    assert len(letters) == len(refused) == outcome.dead_letters
    assert all(letter["reason"] and "\n" not in letter["reason"] for letter in letters)
    return scores


@FUZZ
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=20))
def test_random_bytes(scorer: BatchScorer, values: list[bytes]) -> None:
    check(scorer, [message(v, i) for i, v in enumerate(values)])


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=4))
def test_mutations_of_a_valid_request_next_to_a_valid_one(
    scorer: BatchScorer, flips: list[tuple[int, int]]
) -> None:
    mutated = bytearray(VALID)
    for position, value in flips:
        mutated[position] = value
    scores = check(scorer, [message(bytes(mutated), 0), message(VALID, 1)])
    assert scores[1]["error"] is None  # a bad neighbour never costs a good request its score


NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**30), 10**30),
    st.none(),
)
FEATURES = st.dictionaries(
    st.sampled_from(["failed_logins", "account_age_days", "country", "device", "x" * 300]),
    st.one_of(NUMBERS, st.text(max_size=40), st.lists(st.integers(), max_size=3)),
    max_size=5,
)


@FUZZ
@given(FEATURES, st.booleans(), st.one_of(st.text(max_size=10), st.integers(), st.none()))
def test_hostile_json_requests(
    scorer: BatchScorer, features: dict[str, Any], nest: bool, key: Any
) -> None:
    """NaN and infinite numbers, huge integers, unknown categories, missing and extra fields,
    wrong types: each is scored or refused with a reason."""
    body = {"key": key, "features": features} if nest else features
    text = json.dumps(body, allow_nan=True)  # NaN/Infinity as JSON producers write them
    check(scorer, [message(text.encode(), 0, json_body=True), message(VALID, 1)])


def test_an_oversized_request_is_scored_or_refused_not_fatal(scorer: BatchScorer) -> None:
    features = {f"f{i}": float(i) for i in range(20_000)} | {"country": "FR" * 50_000}
    body = json.dumps({"key": "big", "features": features}).encode()
    assert len(body) > 300_000
    check(scorer, [message(body, 0, json_body=True)])


def test_an_unknown_schema_fingerprint_is_refused_with_its_reason(scorer: BatchScorer) -> None:
    unknown = VALID[:2] + bytes(8) + VALID[10:]  # single-object marker, fingerprint of nothing
    scores = check(scorer, [message(unknown)])
    assert scores[0]["error"]["code"] == "undecodable"
    assert "fingerprint" in scores[0]["error"]["message"].lower()
