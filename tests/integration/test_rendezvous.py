"""The rendezvous across a real broker, with real workers: answers, records, fallbacks."""

from __future__ import annotations

import signal
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from rdv.rendezvous.traffic import key_position
from rdv.rollout.config import RolloutConfig, Tier
from rdv_tools.broker.embedded import listening_port
from tests.integration.harness import CODEC, read_until, send_requests, services
from tests.integration.models import decision_tree, logistic
from tests.integration.stack import StackTopics

pytestmark = pytest.mark.broker

CONFIG = RolloutConfig(
    champion="login-bot@2",
    challengers=("login-bot@3",),
    canary="login-bot@1",
    fallback="fast@1",
    # Wide on purpose: these tests check behaviour, and the SLA runs from each request's
    # creation, so on a loaded test machine a tight one would make the tier that answers
    # depend on its noise. Latency is measured by `rdv bench e2e`, not here.
    sla_ms=1500,
    grace_ms=300,
    schedule=(Tier("preferred", 0), Tier("champion", 300), Tier("fallback", 1000)),
)


def models(tmp: Path) -> dict[str, Path]:
    return {
        "login-bot@2": logistic(tmp / "m2", "2"),
        "login-bot@3": logistic(tmp / "m3", "3", slope=1.2),
        "login-bot@1": decision_tree(tmp / "m1", "1"),
        "fast@1": decision_tree(tmp / "f1", "1", name="fast"),
    }


def answers(stack: StackTopics, count: int, timeout: float = 90) -> list[dict[str, Any]]:
    messages = read_until(
        stack.bootstrap,
        stack["answers"],
        lambda m: len({CODEC.decode("Answer", x.value)["request_id"] for x in m}) >= count,
        timeout,
    )
    return [CODEC.decode("Answer", m.value) for m in messages]


def records(stack: StackTopics, count: int, timeout: float = 90) -> list[dict[str, Any]]:
    messages = read_until(
        stack.bootstrap, stack["rendezvous.log"], lambda m: len(m) >= count, timeout
    )
    return [CODEC.decode("Record", m.value) for m in messages]


@pytest.fixture
def stack(kafka_bootstrap: str) -> StackTopics:
    return StackTopics(kafka_bootstrap)


def warm_up(stack: StackTopics, timeout: float = 90) -> int:
    """Wait until the preferred model answers (every group joined, models loaded), then pass
    a second of traffic: requests sent before that are answered late or by a lower tier,
    correctly, and would blur what a test checks. An answer from the fallback alone is not
    enough: the champion's group may still be joining (seen in CI: a burst right after such a
    warm-up got no preferred answer); and a fresh stack's first second or two of traffic is
    slow on a small machine (measured: dozens of the first 200 requests at 100/s missed a
    50 ms SLA, few after). Returns how many requests it sent: each has its answer and record."""
    deadline = time.monotonic() + timeout
    sent = 0
    while True:
        [request] = send_requests(stack.bootstrap, stack["requests"], 1)
        sent += 1
        answer = answer_to(stack, request["request_id"], max(1.0, deadline - time.monotonic()))
        if answer is not None and answer["reason"] == "preferred":
            break
        assert time.monotonic() < deadline, f"no preferred answer in {timeout:.0f} s: {answer}"
    warm = send_requests(stack.bootstrap, stack["requests"], WARM_TRAFFIC, rate=WARM_TRAFFIC)
    last = warm[-1]["request_id"]
    assert answer_to(stack, last, max(1.0, deadline - time.monotonic())) is not None
    return sent + len(warm)


WARM_TRAFFIC = 50  # requests, sent over one second


def answer_to(stack: StackTopics, request_id: str, timeout: float) -> dict[str, Any] | None:
    def answered(messages: list[Any]) -> bool:
        return any(a["request_id"] == request_id for a in _answers_in(messages))

    found = read_until(stack.bootstrap, stack["answers"], answered, timeout)
    return next((a for a in _answers_in(found) if a["request_id"] == request_id), None)


def _answers_in(messages: list[Any]) -> list[dict[str, Any]]:
    return [CODEC.decode("Answer", m.value) for m in messages if m.value]


def start_workers(launch: Any, paths: dict[str, Path], skip: tuple[str, ...] = ()) -> dict:
    roles = {
        "login-bot@2": "champion",
        "login-bot@3": "challenger",
        "login-bot@1": "canary",
        "fast@1": "fallback",
    }
    return {
        model: launch("worker", "--model", str(path), "--role", roles[model])
        for model, path in paths.items()
        if model not in skip
    }


def test_every_request_is_answered_once_by_the_champion_and_recorded(
    stack: StackTopics, tmp_path: Path
) -> None:
    stack.publish(CONFIG)
    port = listening_port()
    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        start_workers(launch, models(tmp_path))
        launch("rendezvous", "--metrics-port", str(port))
        warm = warm_up(stack)
        # Paced: a burst of 300 on a busy 2-core machine rightly goes partly to the fallback,
        # which is the SLA at work, not what this test is about.
        sent = send_requests(stack.bootstrap, stack["requests"], 300, rate=100)
        got = answers(stack, 300 + warm)
        got = [a for a in got if a["request_id"] in {r["request_id"] for r in sent}]
        logged = records(stack, 300 + warm)
        time.sleep(1.0)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    assert sorted(a["request_id"] for a in got) == sorted(r["request_id"] for r in sent)
    assert Counter((a["model"], a["reason"]) for a in got).most_common(1)[0][0] == (
        "login-bot@2",
        "preferred",
    )
    # The SLA runs from each request's creation: the fallback covers the champion's tail, and
    # on a busy test machine a request whose fallback was late too gets the default in time.
    assert all(a["model"] in ("login-bot@2", "fast@1", None) for a in got)
    assert all(
        a["answered_at"] - a["request_created_at"] * 1000 <= CONFIG.sla_ms * 1000 and not a["late"]
        for a in got
    )
    assert {a["config_version"] for a in got} == {1}
    assert len({r["request_id"] for r in logged}) == 300 + warm
    record = logged[0]
    assert {c["model"] for c in record["candidates"]} <= set(CONFIG.models())
    assert "login-bot@1" in record["delta_canary"] or "login-bot@1" in record["missing"]
    assert 'rdv_answers_total{reason="preferred",role="champion"}' in metrics
    assert "rdv_config_version 1.0" in metrics


def test_with_the_champion_dead_the_fallback_answers_inside_the_sla(
    stack: StackTopics, tmp_path: Path
) -> None:
    stack.publish(CONFIG)
    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        workers = start_workers(launch, models(tmp_path), skip=("login-bot@3", "login-bot@1"))
        launch("rendezvous")
        warm = warm_up(stack)
        workers["login-bot@2"].signal(signal.SIGKILL)  # the champion dies
        workers["login-bot@2"].wait()
        sent = send_requests(stack.bootstrap, stack["requests"], 100)
        ids = {r["request_id"] for r in sent}
        got = [a for a in answers(stack, 100 + warm) if a["request_id"] in ids]
    assert sorted(a["request_id"] for a in got) == sorted(ids)  # nothing lost
    reasons = Counter((a["model"], a["reason"]) for a in got)
    assert reasons[("fast@1", "fallback")] == 100, reasons
    # Tiers open, and the SLA ends, that long after each request's creation.
    assert all(
        CONFIG.schedule[2].after_ms * 1000
        <= a["answered_at"] - a["request_created_at"] * 1000
        <= CONFIG.sla_ms * 1000
        for a in got
    )


def steady_request(i: int) -> dict[str, Any]:
    """A request every model scores (no feature the champion refuses)."""
    from rdv.protocol import new_request

    return new_request(
        {"failed_logins": float(i % 9), "account_age_days": 30.0},
        {"country": "FR"},
        key=f"user-{i % 37}",
    )


def test_a_rendezvous_killed_mid_load_answers_every_request_exactly_once(
    stack: StackTopics, tmp_path: Path
) -> None:
    import threading

    stack.publish(CONFIG)
    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        start_workers(launch, models(tmp_path), skip=("login-bot@3", "login-bot@1"))
        first = launch("rendezvous")
        warm = warm_up(stack)
        sent: list[dict[str, Any]] = []
        producer = threading.Thread(
            target=lambda: sent.extend(
                send_requests(stack.bootstrap, stack["requests"], 400, steady_request, rate=100)
            )
        )
        producer.start()
        time.sleep(1.5)
        first.signal(signal.SIGKILL)  # mid-load: open mailboxes, a transaction in flight
        first.wait()
        time.sleep(2.0)  # requests keep coming while nothing answers them
        launch("rendezvous")
        producer.join()
        ids = {r["request_id"] for r in sent}
        got = [a for a in answers(stack, len(ids) + warm, timeout=120) if a["request_id"] in ids]
        # Once back, it answers in time again. (Asked after the load, not during it: on a
        # starved machine, the three-node cluster on two cores, the restart outlasts the
        # load's four seconds, and the first instance may have committed nothing before the
        # kill, so every one of the 400 can rightly be late.)
        rewarm = warm_up(stack, timeout=120)
        fresh = {r["request_id"] for r in send_requests(stack.bootstrap, stack["requests"], 20)}
        everything = answers(stack, warm + len(ids) + rewarm + len(fresh), timeout=60)
        back = [a for a in everything if a["request_id"] in fresh]
        time.sleep(3.0)  # a duplicate, if any, would be committed by now
        again = read_until(stack.bootstrap, stack["answers"], lambda m: False, timeout=5)
        seen = read_until(
            stack.bootstrap, stack["answers"], lambda m: False, timeout=5, committed_only=False
        )
    final = [CODEC.decode("Answer", m.value) for m in again]
    per_request = Counter(a["request_id"] for a in final if a["request_id"] in ids)
    assert set(per_request) == ids  # nothing lost
    assert set(per_request.values()) == {1}, per_request.most_common(3)  # nothing twice
    # A client reads read_uncommitted and keeps the first answer per request: it has one for
    # every request too, plus, for requests whose transaction died with the rendezvous, the
    # aborted answer it may already have taken and the committed repeat it drops.
    uncommitted = Counter(CODEC.decode("Answer", m.value)["request_id"] for m in seen if m.value)
    assert ids <= set(uncommitted)
    late = [a for a in got if a["late"]]
    assert late and all(a["reason"] == "late" for a in late)  # those that waited the outage
    assert {a["request_id"] for a in back} == fresh
    assert not [a for a in back if a["late"]]


def test_rollout_by_config_changes_answers_live(stack: StackTopics, tmp_path: Path) -> None:
    base = CONFIG.evolve(challengers=(), shadow=("login-bot@3",))
    stack.publish(base)

    def batch(count: int = 100) -> list[dict[str, Any]]:
        # Paced, not a burst: the SLA runs from each request's creation, and a burst on a
        # busy machine queues past the preferred tier, which is not what this test is about.
        sent = send_requests(stack.bootstrap, stack["requests"], count, rate=200)
        ids = {r["request_id"] for r in sent}
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while len({a["request_id"] for a in got}) < count and time.monotonic() < deadline:
            got = [a for a in answers(stack, 10**9, timeout=3) if a["request_id"] in ids]
        assert len(got) == count
        return got

    def until_version(version: int) -> None:
        """Configs apply live but not instantly: wait until answers carry the new one."""
        deadline = time.monotonic() + 30
        while not any(a["config_version"] >= version for a in batch(5)):
            assert time.monotonic() < deadline, f"config v{version} never took effect"

    def preferred(got: list[dict[str, Any]]) -> Counter[str]:
        # What rollout decides is who answers as the preferred model; under a burst some
        # answers may come from the fallback tier or the default instead (the SLA runs from
        # creation), which is the rule working.
        assert all(a["reason"] in ("preferred", "fallback", "champion", "default") for a in got)
        return Counter(a["model"] for a in got if a["reason"] == "preferred")

    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        start_workers(launch, models(tmp_path))
        launch("rendezvous")
        warm_up(stack)
        shadowed = batch()
        assert "login-bot@3" not in {a["model"] for a in shadowed}  # never returned
        assert preferred(shadowed).keys() == {"login-bot@2"}

        stack.publish(
            base,
            shadow=(),
            challengers=("login-bot@3",),
            mode="split",
            split={"login-bot@2": 0.8, "login-bot@3": 0.2},
        )
        until_version(2)
        split = batch(200)
        # Sticky by key: keys hashing into the first 80% prefer the champion, the rest @3.
        # The record says what rollout preferred whatever the timing; an answer given as
        # "preferred" came from that model.
        ids = {a["request_id"] for a in split}
        logged = [r for r in records(stack, 10**9, timeout=5) if r["request_id"] in ids]
        assert len(logged) == 200
        for record in logged:
            expected = "login-bot@2" if key_position(record["key"]) < 0.8 else "login-bot@3"
            assert record["preferred"] == expected
            if record["answer"]["reason"] == "preferred":
                assert record["answer"]["model"] == expected
        assert {r["preferred"] for r in logged} == {"login-bot@2", "login-bot@3"}

        stack.publish(base, champion="login-bot@3", challengers=("login-bot@2",), shadow=())
        until_version(3)
        assert preferred(batch()).keys() == {"login-bot@3"}

        stack.publish(base)  # roll back to the first config
        until_version(4)
        assert preferred(batch()).keys() == {"login-bot@2"}


def test_a_bad_config_on_the_topic_is_refused_and_the_last_good_one_stays(
    stack: StackTopics, tmp_path: Path
) -> None:
    from rdv.kafka import Outgoing, Producer

    stack.publish(CONFIG)
    broken = CONFIG.evolve(version=2, split={"login-bot@2": 0.5}, mode="split").to_record()
    producer = Producer(stack.bootstrap)
    producer.send(
        Outgoing(stack["rendezvous.config"], CODEC.encode("RolloutConfig", broken), b"rollout")
    )
    producer.flush()
    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        start_workers(launch, models(tmp_path), skip=("login-bot@3", "login-bot@1"))
        launch("rendezvous")
        warm = warm_up(stack)
        sent = send_requests(stack.bootstrap, stack["requests"], 20)
        ids = {r["request_id"] for r in sent}
        # Every answer of the warm-up and of these, committed: counting only the warm-up's, the
        # read could end before the commit that holds these (seen at a 1 s commit interval).
        got = [a for a in answers(stack, 20 + warm) if a["request_id"] in ids]
        letters = read_until(stack.bootstrap, stack["dead-letters"], lambda m: len(m) >= 1)
    assert {a["config_version"] for a in got} == {1}
    reasons = [CODEC.decode("DeadLetter", m.value) for m in letters]
    assert any(
        d["error_type"] == "invalid_config" and "split weights sum to 0.5" in d["reason"]
        for d in reasons
    )


def test_two_instances_split_the_partitions_and_answer_everything_once(
    stack: StackTopics, tmp_path: Path
) -> None:
    stack.publish(CONFIG)
    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        start_workers(launch, models(tmp_path), skip=("login-bot@3", "login-bot@1"))
        launch("rendezvous", "--instance", "a")
        launch("rendezvous", "--instance", "b")
        warm = warm_up(stack)
        time.sleep(3)  # let the second instance join and the group settle
        members = group_members(stack.bootstrap, stack.env["RDV_RENDEZVOUS_GROUP_ID"])
        sent = send_requests(stack.bootstrap, stack["requests"], 300)
        ids = {r["request_id"] for r in sent}
        answers(stack, 300 + warm, timeout=120)
        time.sleep(2)
        final = [
            CODEC.decode("Answer", m.value)
            for m in read_until(stack.bootstrap, stack["answers"], lambda m: False, timeout=5)
        ]
        logs = [path.read_text() for path in tmp_path.glob("rendezvous-*.log")]
    per_request = Counter(a["request_id"] for a in final if a["request_id"] in ids)
    assert set(per_request) == ids and set(per_request.values()) == {1}
    assert len(logs) == 2
    assert all("restored" in log and "mailboxes in" in log for log in logs)  # both own some
    # Named instances are static members: a restart under the name takes its partitions back.
    assert sorted(members) == ["rdv-rendezvous-a", "rdv-rendezvous-b"]


def group_members(bootstrap: str, group: str) -> list[str | None]:
    """The group.instance.id of each member of a consumer group (None for a dynamic one)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    [description] = admin.describe_consumer_groups([group]).values()
    return [m.group_instance_id for m in description.result(10).members]
