import os
import time

import pytest

from rdv.errors import ConfigError, RendezvousError
from rdv.kafka import TopicSpec, create_topics, topic_partitions
from rdv.kafka.admin import delete_topics, topic_config
from rdv.topics import RENDEZVOUS_CONFIG, architecture_topics
from tests.cli import run_rdv

pytestmark = [pytest.mark.broker, pytest.mark.parallel]


def test_architecture_topics_are_created_once_with_their_policies(kafka_bootstrap: str) -> None:
    first = create_topics(kafka_bootstrap, architecture_topics(4))
    second = create_topics(kafka_bootstrap, architecture_topics(4))
    assert set(second.values()) == {"exists"}
    assert set(first) == {
        "requests",
        "results",
        "answers",
        "rendezvous.log",
        "feedback",
        "dead-letters",
        "rendezvous.config",
        "rendezvous.state",
        "schemas",
    }
    counts = topic_partitions(kafka_bootstrap)
    assert counts["requests"] == counts["results"] == 4
    assert counts[RENDEZVOUS_CONFIG.name] == 1
    assert topic_config(kafka_bootstrap, RENDEZVOUS_CONFIG.name)["cleanup.policy"] == "compact"
    assert topic_config(kafka_bootstrap, "requests")["cleanup.policy"] == "delete"
    state = topic_config(kafka_bootstrap, "rendezvous.state")
    assert state["cleanup.policy"] == "compact"
    # What a restore reads: a minute's segment and a minute's tombstones, not a day's.
    assert (state["segment.ms"], state["delete.retention.ms"]) == ("60000", "60000")
    assert counts["rendezvous.state"] == 4
    assert counts["schemas"] == 1
    assert topic_config(kafka_bootstrap, "schemas")["cleanup.policy"] == "compact"

    # Made under another count (an older default, say): `rdv topics create` with none chosen
    # keeps it instead of refusing the stack.
    env = {k: v for k, v in os.environ.items() if k != "RDV_PARTITIONS"}
    again = run_rdv("topics", "create", "--bootstrap", kafka_bootstrap, env=env)
    assert again.returncode == 0, again.stderr
    assert "created" not in again.stdout and again.stdout.count("exists") == len(first)
    assert topic_partitions(kafka_bootstrap)["requests"] == 4


def test_a_partition_count_mismatch_is_refused_with_the_fix(kafka_bootstrap: str) -> None:
    create_topics(kafka_bootstrap, [TopicSpec("mismatch", 2)])
    try:
        with pytest.raises(ConfigError, match="exists with 2 partitions, not 3: pass --partitions"):
            create_topics(kafka_bootstrap, [TopicSpec("mismatch", 3)])
    finally:
        delete_topics(kafka_bootstrap, ["mismatch"])


def test_the_config_of_a_missing_topic_is_named_after_a_bounded_wait(kafka_bootstrap: str) -> None:
    # 'Unknown topic' is retried (a broker of a cluster may not know a new topic yet), but
    # not forever: a topic that is not there is named.
    began = time.monotonic()
    with pytest.raises(RendezvousError, match="topic no-such-topic does not exist at "):
        topic_config(kafka_bootstrap, "no-such-topic", timeout=1)
    assert time.monotonic() - began < 10
