"""A producer whose requests Kafka is slow to answer waits for them asleep, across a real
broker that is stopped for a second (SIGSTOP), then let go.

librdkafka's idempotent producer once spun its broker thread at a full core whenever five
produce requests of a partition were in flight and more messages waited: on two cores shared
with the broker, every client spinning so took the CPU the broker needed to answer them, and a
hiccup of a few milliseconds became a stall of a few hundred (docs/performance.md, "Producers
that spin while Kafka is slow")."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from rdv.kafka import Outgoing, Producer, TopicSpec, create_topics
from rdv_tools.broker import EmbeddedBroker

pytestmark = [pytest.mark.broker, pytest.mark.parallel]

STALL_S = 1.0


def librdkafka_cpu_s() -> float:
    """CPU seconds used so far by this process's librdkafka threads."""
    total = 0
    for tid in os.listdir("/proc/self/task"):
        task = Path("/proc/self/task", tid)
        try:
            if not (task / "comm").read_text().startswith("rdk:"):
                continue
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("linger_when_busy", [False, True])
def test_a_producer_waits_for_a_stalled_broker_without_spinning(linger_when_busy: bool) -> None:
    with EmbeddedBroker.throwaway() as broker:
        assert broker.state is not None
        create_topics(broker.bootstrap, [TopicSpec("waits", 1)])
        producer = Producer(broker.bootstrap, linger_when_busy=linger_when_busy)
        sent = 0

        def send_for(seconds: float) -> None:
            nonlocal sent
            start = time.monotonic()
            while time.monotonic() < start + seconds:  # ~1,000 a second, the stalls' rate
                producer.send(Outgoing("waits", f"v{sent}".encode()))
                sent += 1
                time.sleep(0.001)

        send_for(1.5)  # past the lingering lane's first second
        producer.flush(30)
        os.kill(broker.state.pid, signal.SIGSTOP)
        try:
            before = librdkafka_cpu_s()
            send_for(STALL_S)
            spent = librdkafka_cpu_s() - before
        finally:
            os.kill(broker.state.pid, signal.SIGCONT)
        producer.flush(30)
        producer.close()

    # Spinning, the broker thread takes a core for the whole stall (0.9-1.0 s measured).
    assert spent < 0.25 * STALL_S, f"librdkafka's threads used {spent:.2f} s of CPU"
