"""The broker's own counters, as `rdv bench e2e` reads them: attached to the real broker's
JVM, they count what was sent to it; a process that is not a JVM is never signalled."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from confluent_kafka import Producer

from rdv_tools.bench.broker_counts import MESSAGES_IN, PRODUCE, BrokerCounts, BrokerCountsError
from rdv_tools.bench.cpu import listener_pid

pytestmark = [pytest.mark.broker, pytest.mark.parallel]


def test_the_brokers_counters_count_what_was_produced(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    pid = listener_pid(kafka_bootstrap)
    if pid is None:
        pytest.skip("the broker does not run on this machine")
    topic = new_topic()
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "linger.ms": 0})
    with BrokerCounts(pid) as counts:
        before = counts.read()
        for i in range(20):
            producer.produce(topic, f"m{i}".encode())
            producer.flush(10)  # one produce request each
        after = counts.read()
    # Other tests may share the broker: at least ours are counted.
    # A broker's counter appears with its first request.
    assert after[PRODUCE] - before.get(PRODUCE, 0) >= 20
    assert after[MESSAGES_IN] - before.get(MESSAGES_IN, 0) >= 20


def test_a_process_that_is_not_a_jvm_is_refused_and_left_alone() -> None:
    other = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(BrokerCountsError, match=f"pid {other.pid}\\) is not a JVM"):
            BrokerCounts(other.pid)
        assert other.poll() is None  # not signalled
    finally:
        other.kill()
        other.wait()
