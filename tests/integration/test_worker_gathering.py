"""A worker whose model never answers (a shadow, the canary) reads gathered; the rollout
config, not a restart, decides it, and a change of role changes how it reads, losing nothing."""

from __future__ import annotations

import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from rdv.rollout.config import RolloutConfig, Tier
from rdv.rollout.store import publish
from rdv.settings import make_codec
from tests.integration.harness import (
    JOINED,
    free_block,
    read_until,
    scores_of,
    send_requests,
    services,
    wait_for_line,
)
from tests.integration.models import decision_tree, logistic

# It checks scores counted, not their timing: it runs beside another test (`parallel`).
pytestmark = [pytest.mark.broker, pytest.mark.parallel]

GATHERED = "gathered reads (up to 120 ms): no model here is needed sooner under rollout v1"
AT_ONCE = "every request read at once"
AS_FALLBACK = "gathered reads (up to 17 ms): no model here is needed sooner under rollout v3"
SCHEDULE = (Tier("preferred", 0), Tier("champion", 20), Tier("fallback", 35))


def worker_topics(new_topic: Callable[..., str], config_topic: str) -> dict[str, str]:
    return {
        "RDV_WORKER_REQUESTS_TOPIC": new_topic(3, "requests"),
        "RDV_WORKER_RESULTS_TOPIC": new_topic(3, "results"),
        "RDV_WORKER_DEAD_LETTERS_TOPIC": new_topic(1, "dlq"),
        "RDV_WORKER_CONFIG_TOPIC": config_topic,
    }


def scored(bootstrap: str, topic: str, ids: set[str]) -> Counter[str]:
    """How often each of these requests was scored, once all of them were."""
    found = read_until(
        bootstrap,
        topic,
        lambda m: {s["request_id"] for _, s in scores_of(m)} >= ids,
        timeout=60,
    )
    return Counter(s["request_id"] for _, s in scores_of(found) if s["request_id"] in ids)


def test_a_canary_reads_gathered_until_a_new_config_makes_it_answer(
    kafka_bootstrap: str, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    topics = worker_topics(new_topic, new_topic(1, "config"))
    logistic(tmp_path / "lr")  # login-bot@1, the champion: not run here
    canary = decision_tree(tmp_path / "dt")  # login-bot@0
    codec, config_topic = make_codec(), topics["RDV_WORKER_CONFIG_TOPIC"]
    first = publish(
        kafka_bootstrap,
        codec,
        RolloutConfig(champion="login-bot@1", canary="login-bot@0"),
        None,
        topic=config_topic,
    )
    requests, results = topics["RDV_WORKER_REQUESTS_TOPIC"], topics["RDV_WORKER_RESULTS_TOPIC"]
    with services(tmp_path, kafka_bootstrap, topics) as launch:
        port = free_block(1)
        worker = launch(
            "worker", "--model", str(canary), "--role", "canary", RDV_WORKER_METRICS_PORT=str(port)
        )
        wait_for_line(worker.output, GATHERED, 1)
        wait_for_line(worker.output, JOINED, 1)
        before = {r["request_id"] for r in send_requests(kafka_bootstrap, requests, 100, rate=50)}
        scored_before = scored(kafka_bootstrap, results, before)
        assert set(scored_before) == before and set(scored_before.values()) == {1}
        # Promoted by config: the worker reads every request at once from then on.
        second = publish(
            kafka_bootstrap,
            codec,
            RolloutConfig(champion="login-bot@0", fallback="login-bot@1"),
            first,
            topic=config_topic,
        )
        wait_for_line(worker.output, AT_ONCE, 1)
        after = {r["request_id"] for r in send_requests(kafka_bootstrap, requests, 100, rate=50)}
        scored_after = scored(kafka_bootstrap, results, before | after)
        assert set(scored_after) == before | after and set(scored_after.values()) == {1}
        # Made the fallback, whose tier opens 35 ms into the SLA: it gathers for half of that.
        publish(
            kafka_bootstrap,
            codec,
            RolloutConfig(champion="login-bot@1", fallback="login-bot@0", schedule=SCHEDULE),
            second,
            topic=config_topic,
        )
        wait_for_line(worker.output, AS_FALLBACK, 1)
        last = {r["request_id"] for r in send_requests(kafka_bootstrap, requests, 50, rate=50)}
        counts = scored(kafka_bootstrap, results, before | after | last)
        output = worker.output()
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    assert set(counts) == before | after | last and set(counts.values()) == {1}
    # Its metrics follow the promotion: the requests scored after it count as the champion's.
    text = metrics.decode()
    assert 'rdv_worker_scored_total{model="login-bot@0",role="canary"} 100.0' in text
    assert 'rdv_worker_scored_total{model="login-bot@0",role="champion"} 100.0' in text
    assert 'rdv_worker_scored_total{model="login-bot@0",role="fallback"} 50.0' in text
    assert output.count(GATHERED) == 1 and output.count(AT_ONCE) == 1
    assert "Traceback" not in output


def test_without_a_config_topic_a_worker_reads_every_request_at_once(
    kafka_bootstrap: str, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    topics = worker_topics(new_topic, "rdv-no-such-config-topic")
    model = decision_tree(tmp_path / "dt")
    with services(tmp_path, kafka_bootstrap, topics) as launch:
        worker = launch("worker", "--model", str(model), "--role", "canary")
        wait_for_line(worker.output, JOINED, 1)
        ids = {
            r["request_id"]
            for r in send_requests(kafka_bootstrap, topics["RDV_WORKER_REQUESTS_TOPIC"], 50)
        }
        counts = scored(kafka_bootstrap, topics["RDV_WORKER_RESULTS_TOPIC"], ids)
        output = worker.output()
    assert set(counts) == ids
    assert AT_ONCE in output and "Traceback" not in output
