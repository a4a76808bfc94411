"""The Python client, `rdv produce --count --rate`, `rdv predict` and `rdv rollout`, as users
run them against a running stack."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from rdv.client import AnswerTimeoutError, RendezvousClient
from rdv.kafka import Outgoing, Producer, TopicSpec, create_topics
from rdv.protocol import new_request
from rdv_tools.broker.embedded import listening_port
from tests.cli import run_rdv
from tests.integration.harness import CODEC, read_until, services
from tests.integration.stack import StackTopics
from tests.integration.test_rendezvous import CONFIG, models, start_workers, warm_up

pytestmark = pytest.mark.broker


def rdv(stack: StackTopics, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **stack.env, "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap}
    return run_rdv(*args, env=env, timeout=120)


def test_client_predicts_one_many_and_async(kafka_bootstrap: str, tmp_path: Path) -> None:
    stack = StackTopics(kafka_bootstrap)
    stack.publish(CONFIG)
    port = listening_port()
    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        start_workers(launch, models(tmp_path), skip=("login-bot@3", "login-bot@1"))
        launch("rendezvous", "--metrics-port", str(port))
        warm_up(stack)
        with RendezvousClient(stack.bootstrap, stack["requests"], stack["answers"]) as client:
            answer = client.predict(
                {"failed_logins": 9, "account_age_days": 2, "country": "FR"},
                timeout=10,
                key="user-7",
            )
            many = client.predict_many(
                [{"failed_logins": n, "account_age_days": 100, "country": "US"} for n in range(20)],
                timeout=20,
            )
            later = asyncio.run(
                client.apredict(
                    {"failed_logins": 0, "account_age_days": 5, "country": "DE"}, timeout=10
                )
            )
            slow = client.predict({"failed_logins": 1}, timeout=10)  # no age: imputed
        # The application tells what it learnt: the first answer was right. Feedback joins a
        # recorded request: wait for the record (the mailbox closes after the SLA and grace,
        # since the challenger and canary of CONFIG do not run here).
        read_until(
            stack.bootstrap,
            stack["rendezvous.log"],
            lambda m: any(
                CODEC.decode("Record", x.value)["request_id"] == answer["request_id"] for x in m
            ),
            30,
        )
        send_feedback(stack, answer, "bot")
        reply = reply_to_answer(stack)
        deadline = time.monotonic() + 30
        metrics = ""
        while 'rdv_model_correct_total{model="login-bot@2"} 1.0' not in metrics:
            assert time.monotonic() < deadline, metrics
            time.sleep(0.5)
            metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    assert 'rdv_model_judged_total{model="login-bot@2"} 1.0' in metrics
    assert "rdv_feedback_total 1.0" in metrics
    assert reply["model"] == "login-bot@2"
    assert (answer["key"], answer["model"], answer["label"]) == ("user-7", "login-bot@2", "bot")
    assert len({a["request_id"] for a in many}) == 20
    assert all(a["model"] == "login-bot@2" for a in many)
    assert later["model"] == "login-bot@2"
    # country missing: the champion refuses (handleInvalid=error), the fallback keeps it.
    assert (slow["model"], slow["reason"]) == ("fast@1", "fallback")


def send_feedback(
    stack: StackTopics, answer: dict, label: str | None, reward: float | None = None
) -> None:
    send_feedbacks(stack, [(answer, label, reward)])


def send_feedbacks(stack: StackTopics, items: list[tuple[dict, str | None, float | None]]) -> None:
    """Feedback on many answers through one producer (a producer each costs about 0.5 s)."""
    producer = Producer(stack.bootstrap)
    for answer, label, reward in items:
        record = {
            "request_id": answer["request_id"],
            "key": answer["key"],
            "label": label,
            "value": None,
            "reward": reward,
            "created_at": int(time.time() * 1000),
            "source": "test",
        }
        producer.send(
            Outgoing(stack["feedback"], CODEC.encode("Feedback", record), answer["key"].encode())
        )
    producer.flush()


def reply_to_answer(stack: StackTopics) -> dict:
    """A request naming a reply_to topic gets its answer there too."""
    reply_topic = stack["answers"] + "-replies"
    create_topics(stack.bootstrap, [TopicSpec(reply_topic, 1)])
    producer = Producer(stack.bootstrap)
    producer.connect(stack["requests"])  # the SLA runs from the request's creation
    request = new_request(
        {"failed_logins": 8.0, "account_age_days": 1.0}, {"country": "US"}, reply_to=reply_topic
    )
    producer.send(Outgoing(stack["requests"], CODEC.encode("Request", request), b"r"))
    producer.flush()
    [message] = read_until(stack.bootstrap, reply_topic, lambda m: len(m) >= 1, 30)
    answer = CODEC.decode("Answer", message.value)
    assert answer["request_id"] == request["request_id"]
    return answer


def test_client_times_out_clearly_without_a_rendezvous(kafka_bootstrap: str) -> None:
    stack = StackTopics(kafka_bootstrap)
    with RendezvousClient(stack.bootstrap, stack["requests"], stack["answers"]) as client:
        started = time.monotonic()
        with pytest.raises(AnswerTimeoutError, match="is `rdv rendezvous` running"):
            client.predict({"x": 1.0}, timeout=0.5)
        assert time.monotonic() - started < 5
        with pytest.raises(AnswerTimeoutError, match="3 of 3 answers missing"):
            client.predict_many([{"x": 1.0}] * 3, timeout=0.3)
        # A caller that gave up is not waited for: a long-lived client (the gateway) used to
        # keep every timed-out request's future for ever.
        assert client.waiting == 0


def test_rollout_cli_publishes_validated_versions_and_keeps_history(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    stack = StackTopics(kafka_bootstrap)
    good = tmp_path / "rollout.yaml"
    good.write_text(CONFIG.to_yaml())
    assert (
        rdv(stack, "rollout", "show")
        .stderr.strip()
        .startswith("error: no rollout config published yet")
    )
    assert rdv(stack, "rollout", "set", str(good), "-m", "first").returncode == 0
    steps = [
        ("shadow", "login-bot@3"),
        ("split", "login-bot@2=0.8,login-bot@3=0.2"),
        ("promote", "login-bot@3"),
        ("rollback",),
    ]
    for step in steps:
        result = rdv(stack, "rollout", *step)
        assert result.returncode == 0, result.stderr
    bad = rdv(stack, "rollout", "split", "login-bot@2=0.7,login-bot@3=0.2")
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("error: invalid rollout config: split weights sum to 0.9, not 1")
    shown = rdv(stack, "rollout", "show")
    assert shown.stdout.startswith("# version 5,") and "rollback to v3" in shown.stdout
    assert "champion: login-bot@2" in shown.stdout and "mode: split" in shown.stdout
    history = rdv(stack, "rollout", "history").stdout
    for version, text in [("1", "first"), ("2", "shadow login-bot@3"), ("4", "promote")]:
        assert any(
            line.split("│")[1].strip() == version and text in line
            for line in history.splitlines()
            if "│" in line
        ), history
    arms = rdv(stack, "rollout", "thompson", "login-bot@3,login-bot@2")
    assert arms.returncode == 0, arms.stderr
    now = rdv(stack, "rollout", "show").stdout
    assert now.startswith("# version 6,") and "mode: thompson" in now
    # The champion in force stays champion when it is one of the arms.
    assert "champion: login-bot@2" in now and "- login-bot@3" in now
    one = rdv(stack, "rollout", "thompson", "login-bot@2")
    assert one.returncode == 2 and "two or more models" in one.stderr


def test_produce_generates_traffic_at_a_rate(kafka_bootstrap: str) -> None:
    stack = StackTopics(kafka_bootstrap)
    started = time.monotonic()
    result = rdv(
        stack, "produce", "--count", "40", "--rate", "20", "--topic", stack["requests"], "--quiet"
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started >= 1.9  # 40 requests at 20/s take two seconds
    assert "sent 40 request(s)" in result.stderr
