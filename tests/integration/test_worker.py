"""Model workers across a real broker: every request scored, annotated, co-partitioned."""

from __future__ import annotations

import signal
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rdv.kafka import Outgoing, Producer
from rdv.protocol import new_request
from rdv_tools.broker.embedded import listening_port
from tests.integration.harness import (
    CODEC,
    JOINED,
    read_until,
    scores_of,
    send_requests,
    services,
    wait_for_line,
)
from tests.integration.models import decision_tree, logistic

pytestmark = pytest.mark.broker


@pytest.fixture
def topics(new_topic: Callable[..., str]) -> dict[str, str]:
    return {
        "RDV_WORKER_REQUESTS_TOPIC": new_topic(3, "requests"),
        "RDV_WORKER_RESULTS_TOPIC": new_topic(3, "results"),
        "RDV_WORKER_DEAD_LETTERS_TOPIC": new_topic(1, "dlq"),
    }


def test_champion_and_canary_score_every_request_on_its_partition(
    kafka_bootstrap: str, topics: dict[str, str], tmp_path: Path
) -> None:
    champion, canary = logistic(tmp_path / "lr"), decision_tree(tmp_path / "dt")
    port = listening_port()
    with services(tmp_path, kafka_bootstrap, topics) as launch:
        launch(
            "worker",
            "--model",
            str(champion),
            "--role",
            "champion",
            "--instance",
            "w1",
            "--metrics-port",
            str(port),
        )
        launch("worker", "--model", str(canary), "--role", "canary")
        sent = send_requests(kafka_bootstrap, topics["RDV_WORKER_REQUESTS_TOPIC"], 300)
        requests = read_until(
            kafka_bootstrap, topics["RDV_WORKER_REQUESTS_TOPIC"], lambda m: len(m) >= 300
        )
        results = scores_of(
            read_until(kafka_bootstrap, topics["RDV_WORKER_RESULTS_TOPIC"], lambda m: len(m) >= 600)
        )
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()

    by_id = {CODEC.decode("Request", m.value)["request_id"]: m for m in requests}
    assert set(by_id) == {r["request_id"] for r in sent}
    per_model = Counter(s["model"]["version"] for _, s in results)
    assert per_model == {"1": 300, "0": 300}
    for msg, score in results:
        request = by_id[score["request_id"]]
        assert msg.partition == request.partition == score["input_partition"]
        assert msg.key == request.key and score["input_offset"] == request.offset
        assert score["error"] is None and 0.0 <= score["score"] <= 1.0
        assert score["label"] in {"human", "bot"}
        assert score["received_at"] <= score["scored_at"]
        assert score["eval_latency_us"] >= 0
        role = {"1": "champion", "0": "canary"}[score["model"]["version"]]
        assert score["model"]["role"] == role and score["model"]["name"] == "login-bot"
        assert msg.header("rdv-model") == f"login-bot@{score['model']['version']}".encode()
    assert {s["model"]["instance"] for _, s in results if s["model"]["version"] == "1"} == {"w1"}
    assert 'rdv_worker_scored_total{model="login-bot@1",role="champion"} 300.0' in metrics


def test_bad_requests_get_error_scores_and_dead_letters_and_the_worker_goes_on(
    kafka_bootstrap: str, topics: dict[str, str], tmp_path: Path
) -> None:
    requests_topic = topics["RDV_WORKER_REQUESTS_TOPIC"]
    producer = Producer(kafka_bootstrap)
    bad = [
        Outgoing(requests_topic, b"\x00\x01garbage", b"k1"),
        Outgoing(
            requests_topic,
            b'{"features": {"failed_logins": "many"}}',
            b"k2",
            headers=(("content-type", b"application/json"),),
        ),
        Outgoing(
            requests_topic,
            CODEC.encode(
                "Request", new_request({"failed_logins": 1.0}, {"country": "ZZ"}, key="k3")
            ),
            b"k3",
        ),
        Outgoing(
            requests_topic,
            CODEC.encode(
                "Request", new_request({"account_age_days": 3.0}, {"country": "FR"}, key="k4")
            ),
            b"k4",
        ),
    ]
    for message in bad:
        producer.send(message)
    producer.flush()
    with services(tmp_path, kafka_bootstrap, topics) as launch:
        # The bad ones were produced before the worker: a backfill reads them.
        launch("worker", "--model", str(logistic(tmp_path / "lr")), "--from-beginning")
        good = send_requests(kafka_bootstrap, requests_topic, 20)
        results = scores_of(
            read_until(kafka_bootstrap, topics["RDV_WORKER_RESULTS_TOPIC"], lambda m: len(m) >= 24)
        )
        letters = read_until(
            kafka_bootstrap, topics["RDV_WORKER_DEAD_LETTERS_TOPIC"], lambda m: len(m) >= 4
        )

    errors = {msg.key: s["error"] for msg, s in results if s["error"]}
    assert errors[b"k1"]["code"] == "undecodable"
    # Flat JSON makes "many" a categorical value: a wrong-typed feature, refused by the model.
    assert errors[b"k2"] == {
        "code": "invalid_feature",
        "message": "failed_logins must be numeric, got a categorical value",
    }
    assert errors[b"k3"] == {
        "code": "invalid_feature",
        "message": "country: 'ZZ' is an unseen label, refused by StringIndexer "
        "(handleInvalid=error)",
    }
    assert errors[b"k4"]["code"] == "missing_feature"  # failed_logins absent, no imputer
    assert {s["request_id"] for _, s in results if not s["error"]} == {
        r["request_id"] for r in good
    }
    dead = {m.key: CODEC.decode("DeadLetter", m.value) for m in letters}
    assert set(dead) == {b"k1", b"k2", b"k3", b"k4"}
    assert dead[b"k1"]["original_value"] == b"\x00\x01garbage"
    assert dead[b"k3"]["reason"].startswith("login-bot@1: country: 'ZZ' is an unseen label")
    assert {d["service"] for d in dead.values()} == {"worker"}


def test_a_worker_killed_mid_stream_leaves_no_request_without_a_score(
    kafka_bootstrap: str, topics: dict[str, str], tmp_path: Path
) -> None:
    count = 3000
    model = logistic(tmp_path / "lr")
    with services(tmp_path, kafka_bootstrap, topics) as launch:
        first = launch("worker", "--model", str(model), "--batch-max", "50")
        wait_for_line(first.output, JOINED, 1)
        # Sent at a pace over 4 s, from the moment the worker reads: all at once, the first
        # worker scored all 3,000 before the kill on a fast machine (seen in CI), and the second
        # had nothing to do.
        sent: list[dict[str, Any]] = []
        sender = threading.Thread(
            target=lambda: sent.extend(
                send_requests(
                    kafka_bootstrap, topics["RDV_WORKER_REQUESTS_TOPIC"], count, rate=count / 4
                )
            )
        )
        sender.start()
        before = read_until(
            kafka_bootstrap, topics["RDV_WORKER_RESULTS_TOPIC"], lambda m: len(m) >= 200
        )
        first.signal(signal.SIGKILL)
        first.wait()
        launch("worker", "--model", str(model), "--batch-max", "50")
        sender.join()
        assert len(sent) == count
        wanted = {r["request_id"] for r in sent}
        results = scores_of(
            read_until(
                kafka_bootstrap,
                topics["RDV_WORKER_RESULTS_TOPIC"],
                lambda m: len(m) >= count and wanted <= {s["request_id"] for _, s in scores_of(m)},
                timeout=120,
                # The first worker may have scored a whole partition before it died; then every
                # score the second writes there is a repeat, and the condition above is met
                # before they are all read (seen once in CI).
                quiet=3.0,
            )
        )
    scored = Counter(s["request_id"] for _, s in results)
    assert set(scored) == wanted  # nothing lost
    # At-least-once: the restarted worker redoes only what its predecessor scored after its
    # last commit, that is, on each partition, the newest offsets the dead one had scored.
    by_instance: dict[str, Counter[str]] = {}
    for _, score in results:
        by_instance.setdefault(score["model"]["instance"], Counter())[score["request_id"]] += 1
    assert all(c.most_common(1)[0][1] == 1 for c in by_instance.values())  # none twice alone
    assert len(by_instance) == 2
    redone = {rid for rid, n in scored.items() if n > 1}
    # Both instances scored every redone request, so only the results read before the kill
    # say which instance died.
    (first_instance,) = {s["model"]["instance"] for _, s in scores_of(before)}
    for partition in {s["input_partition"] for _, s in results}:
        offsets = {
            s["input_offset"]: s["request_id"]
            for _, s in results
            if s["input_partition"] == partition and s["model"]["instance"] == first_instance
        }
        again = [o for o, rid in offsets.items() if rid in redone]
        if again:
            assert all(offsets[o] in redone for o in offsets if o >= min(again))


def test_sigterm_finishes_commits_and_a_restart_scores_only_what_is_new(
    kafka_bootstrap: str, topics: dict[str, str], tmp_path: Path
) -> None:
    model = logistic(tmp_path / "lr")
    requests_topic, results_topic = (
        topics["RDV_WORKER_REQUESTS_TOPIC"],
        topics["RDV_WORKER_RESULTS_TOPIC"],
    )
    with services(tmp_path, kafka_bootstrap, topics) as launch:
        first = launch("worker", "--model", str(model))
        send_requests(kafka_bootstrap, requests_topic, 100)
        read_until(kafka_bootstrap, results_topic, lambda m: len(m) >= 100)
        first.signal(signal.SIGTERM)
        assert first.wait() == 0, first.output()
        send_requests(kafka_bootstrap, requests_topic, 50)
        launch("worker", "--model", str(model))
        read_until(kafka_bootstrap, results_topic, lambda m: len(m) >= 150)
        time.sleep(2)  # anything re-scored by mistake would arrive by now
        results = read_until(kafka_bootstrap, results_topic, lambda m: len(m) > 150, timeout=3)
    assert len(results) == 150


def test_a_worker_started_to_take_over_stops_the_old_one_once_ready_and_goes_on_from_it(
    kafka_bootstrap: str, topics: dict[str, str], tmp_path: Path
) -> None:
    # A rolling upgrade's step (`rdv restart`): the new worker loads its model while the old
    # one scores, then stops it and scores from where it committed, nothing twice.
    model = logistic(tmp_path / "lr")
    requests_topic, results_topic = (
        topics["RDV_WORKER_REQUESTS_TOPIC"],
        topics["RDV_WORKER_RESULTS_TOPIC"],
    )
    with services(tmp_path, kafka_bootstrap, topics) as launch:
        old = launch("worker", "--model", str(model), "--instance", "old")
        send_requests(kafka_bootstrap, requests_topic, 100)
        read_until(kafka_bootstrap, results_topic, lambda m: len(m) >= 100)
        new = launch(
            "worker", "--model", str(model), "--instance", "new", "--take-over", str(old.pid)
        )
        assert old.wait() == 0, old.output()
        send_requests(kafka_bootstrap, requests_topic, 50)
        read_until(kafka_bootstrap, results_topic, lambda m: len(m) >= 150)
        time.sleep(2)  # anything re-scored by mistake would arrive by now
        results = scores_of(
            read_until(kafka_bootstrap, results_topic, lambda m: len(m) > 150, timeout=3)
        )
        assert "took over from pid" in new.output()
    assert Counter(s["model"]["instance"] for _, s in results) == {"old": 100, "new": 50}


def test_a_model_that_disagrees_with_its_golden_vectors_is_refused(
    kafka_bootstrap: str, topics: dict[str, str], tmp_path: Path
) -> None:
    import json

    from rdv.model.artifact import GoldenRow, load_artifact, save_artifact

    good = load_artifact(logistic(tmp_path / "lr"))
    lying = GoldenRow(
        {"failed_logins": 1.0, "account_age_days": 10.0}, {"country": "FR"}, 1.0, (0.0, 1.0)
    )
    bad = save_artifact(
        type(good)(**{**vars(good), "golden": (lying,), "path": None}), tmp_path / "bad"
    )
    with services(tmp_path, kafka_bootstrap, topics) as launch:
        worker = launch("worker", "--model", str(bad))
        assert worker.wait() == 2
    output = worker.output().strip().splitlines()
    assert output[-1].startswith("error: login-bot@1 disagrees with Spark on 1 golden rows")
    assert json.loads((bad / "golden.json").read_text())[0]["prediction"] == 1.0


def test_one_worker_hosting_two_models_scores_every_request_with_each(
    kafka_bootstrap: str, topics: dict[str, str], tmp_path: Path
) -> None:
    requests_topic = topics["RDV_WORKER_REQUESTS_TOPIC"]
    producer = Producer(kafka_bootstrap)
    producer.send(Outgoing(requests_topic, b"\x00\x01garbage", b"bad"))
    producer.flush()
    champion, fallback = logistic(tmp_path / "lr"), decision_tree(tmp_path / "dt")
    port = listening_port()
    with services(tmp_path, kafka_bootstrap, topics) as launch:
        hosting = [
            ("--model", str(m), "--role", r)
            for m, r in ((champion, "champion"), (fallback, "fallback"))
        ]
        launch(
            "worker", *(a for h in hosting for a in h), "--metrics-port", str(port),
            "--from-beginning",  # the bad message came before the worker
        )  # fmt: skip
        sent = send_requests(kafka_bootstrap, requests_topic, 200)
        results = scores_of(
            read_until(
                kafka_bootstrap,
                topics["RDV_WORKER_RESULTS_TOPIC"],
                lambda m: len(m) >= 402,
                quiet=1.0,
            )
        )
        letters = read_until(
            kafka_bootstrap, topics["RDV_WORKER_DEAD_LETTERS_TOPIC"], lambda m: len(m) >= 1
        )
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()

    good = {r["request_id"] for r in sent}
    for version, role in (("1", "champion"), ("0", "fallback")):
        mine = [s for _, s in results if s["model"]["version"] == version]
        assert {s["model"]["role"] for s in mine} == {role}
        assert {s["request_id"] for s in mine if not s["error"]} == good
        assert [s["error"]["code"] for s in mine if s["error"]] == ["undecodable"]
    assert len(results) == 402  # one score per message and model, none twice
    # The bad message is dead-lettered once, however many models the worker hosts.
    assert [m.key for m in letters] == [b"bad"]
    for line in (
        'rdv_worker_scored_total{model="login-bot@1",role="champion"} 200.0',
        'rdv_worker_scored_total{model="login-bot@0",role="fallback"} 200.0',
    ):
        assert line in metrics


def test_a_new_model_version_starts_at_new_requests_unless_asked_for_a_backfill(
    kafka_bootstrap: str, topics: dict[str, str], tmp_path: Path
) -> None:
    requests_topic = topics["RDV_WORKER_REQUESTS_TOPIC"]
    results_topic = topics["RDV_WORKER_RESULTS_TOPIC"]
    model = logistic(tmp_path / "lr")
    backlog = send_requests(kafka_bootstrap, requests_topic, 60)
    time.sleep(0.2)
    between = time.time()
    time.sleep(0.2)
    later = send_requests(kafka_bootstrap, requests_topic, 30)

    def scored_by(group: str, count: int) -> set[str]:
        messages = read_until(
            kafka_bootstrap,
            results_topic,
            lambda m: sum(s["model"]["instance"] == group for _, s in scores_of(m)) >= count,
            60,
            quiet=2.0,
        )
        return {s["request_id"] for _, s in scores_of(messages) if s["model"]["instance"] == group}

    at = (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(between)) + f".{int(between % 1 * 1000):03d}"
    )
    time.sleep(1.5)  # past the second a worker's start allows for the clocks' grain and steps
    with services(tmp_path, kafka_bootstrap, topics) as launch:
        # Each worker is its own group here, as a new model version would be.
        new = launch("worker", "--model", str(model), "--group", "g-new", "--instance", "new")
        launch(
            "worker", "--model", str(model), "--group", "g-all", "--instance", "all",
            "--from-beginning",
        )  # fmt: skip
        launch(
            "worker",
            "--model",
            str(model),
            "--group",
            "g-time",
            "--instance",
            "time",
            "--from-time",
            at,
        )
        assert scored_by("all", 90) == {r["request_id"] for r in backlog + later}
        assert scored_by("time", 30) == {r["request_id"] for r in later}
        # The new group scored nothing of the backlog; it scores what comes after it started.
        fresh = send_requests(kafka_bootstrap, requests_topic, 20)
        assert scored_by("new", 20) == {r["request_id"] for r in fresh}
        # Its start was committed at once: restarted, it goes on from there, not from now.
        new.signal(signal.SIGKILL)
        new.wait()
        while_down = send_requests(kafka_bootstrap, requests_topic, 10)
        launch("worker", "--model", str(model), "--group", "g-new", "--instance", "new")
        got = scored_by("new", 30)
    assert {r["request_id"] for r in while_down} <= got
    assert not got & {r["request_id"] for r in backlog + later}


def test_a_worker_given_two_starts_says_so_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "rdv_tools.cli", "worker", "--model", str(logistic(tmp_path / "m")),
         "--from-beginning", "--from-time", "2026-12-01T00:00"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "give --from-beginning or --from-time, not both" in done.stderr
    assert "Traceback" not in done.stderr
