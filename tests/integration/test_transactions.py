"""A new transactional producer of the rendezvous ends what its predecessor left open, across a
real broker: nothing of it becomes visible, no partition's last stable offset is held back,
and the group's committed offsets can be read by a read_committed consumer (which waits for
every pending transactional offset; a left-over one made the rendezvous read nothing)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, IsolationLevel, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from rdv.errors import RendezvousError
from rdv.kafka import Consumer as RdvConsumer
from rdv.kafka import Outgoing
from rdv.kafka.transactions import Transactions
from rdv.rendezvous.delivery import standby_producer
from rdv.rendezvous.delivery import transactions as rendezvous_transactions
from rdv.rendezvous.settings import RendezvousServiceSettings
from rdv_tools.broker import EmbeddedBroker
from tests.integration.stack import StackTopics

# No bound here is tight enough for a parallel test to break: 10 s timeouts, 30 s waits.
pytestmark = [pytest.mark.broker, pytest.mark.parallel]


def settings(stack: StackTopics) -> RendezvousServiceSettings:
    return RendezvousServiceSettings(
        # Each test its own transactional id: tests that share one fence each other's.
        instance=f"t{time.time_ns()}",
        group_id=f"rdv-rendezvous-test-{time.time_ns()}",
        requests_topic=stack["requests"],
        answers_topic=stack["answers"],
        log_topic=stack["rendezvous.log"],
        state_topic=stack["rendezvous.state"],
        dead_letters_topic=stack["dead-letters"],
    )


def leave_open(bootstrap: str, s: RendezvousServiceSettings) -> Producer:
    """What a rendezvous stuck mid-transaction leaves: records and offsets, never ended. The
    producer is returned to be kept: destroying it could end the transaction by itself."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "transactional.id": f"rdv-rendezvous-{s.instance}"}
    )
    producer.init_transactions(30)
    producer.begin_transaction()
    for topic in (s.answers_topic, s.state_topic):
        producer.produce(topic, value=b"left open", key=b"r1", partition=0)
    assert producer.flush(10) == 0
    group = Consumer({"bootstrap.servers": bootstrap, "group.id": s.group_id})
    producer.send_offsets_to_transaction(
        [TopicPartition(s.requests_topic, 0, 5)], group.consumer_group_metadata(), 10
    )
    group.close()
    return producer


@contextlib.contextmanager
def rendezvous_writer(bootstrap: str) -> Iterator[tuple[RendezvousServiceSettings, Transactions]]:
    """A rendezvous's transactional producer on fresh topics, attached to its group's consumer
    as the rendezvous attaches it; closed with the consumer on the way out."""
    s = settings(StackTopics(bootstrap))
    transactions = rendezvous_transactions(s, bootstrap, None, threading.Event())
    consumer = RdvConsumer(bootstrap, s.group_id, [s.requests_topic])
    try:
        transactions.attach(consumer)
        yield s, transactions
    finally:
        transactions.close()
        consumer.close()


def stable(bootstrap: str, topic: str) -> bool:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    tps = [TopicPartition(topic, p) for p in range(3)]

    def ends(level: IsolationLevel) -> list[int]:
        found = admin.list_offsets({tp: OffsetSpec.latest() for tp in tps}, isolation_level=level)
        return [found[tp].result().offset for tp in tps]

    return ends(IsolationLevel.READ_COMMITTED) == ends(IsolationLevel.READ_UNCOMMITTED)


def becomes_stable(bootstrap: str, topic: str, timeout: float = 10) -> bool:
    """An abort's markers are written after the abort returns: give them a moment."""
    deadline = time.monotonic() + timeout
    while not stable(bootstrap, topic):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def visible(bootstrap: str, topic: str) -> list[bytes | None]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"peek-{time.time_ns()}",
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(3)])
    values = [m.value() for m in consumer.consume(100, 3) if m.error() is None]
    consumer.close()
    return values


def committed_offset(bootstrap: str, s: RendezvousServiceSettings) -> int:
    """The group's committed offset on `requests` partition 0, as a read_committed consumer
    sees it: negative where nothing is committed."""
    reader = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": s.group_id,
            "isolation.level": "read_committed",
        }
    )
    try:
        [committed] = reader.committed([TopicPartition(s.requests_topic, 0)], timeout=30)
    finally:
        reader.close()
    return int(committed.offset)


def test_a_new_producer_ends_what_the_last_one_left_open(kafka_bootstrap: str) -> None:
    stack = StackTopics(kafka_bootstrap)
    s = settings(stack)
    stuck = leave_open(kafka_bootstrap, s)
    assert not stable(kafka_bootstrap, s.state_topic)  # the open transaction holds it back

    transactions = rendezvous_transactions(s, kafka_bootstrap, None, threading.Event())

    for topic in (s.answers_topic, s.log_topic, s.state_topic, s.dead_letters_topic):
        assert becomes_stable(kafka_bootstrap, topic), topic
        assert visible(kafka_bootstrap, topic) == [], topic
    # nothing was committed: the left-open offsets were aborted
    assert committed_offset(kafka_bootstrap, s) < 0
    transactions.close()
    del stuck


def test_a_standby_producer_fences_nobody_until_it_takes_over(kafka_bootstrap: str) -> None:
    """A successor's producer is made while its predecessor still runs (make-before-break):
    the predecessor's transaction still commits, and only the take-over fences it. What the
    left-overs' end needs from Kafka (metadata, the group's coordinator) is found beforehand,
    without waiting on the predecessor's open offsets."""
    stack = StackTopics(kafka_bootstrap)
    s = settings(stack)
    running = leave_open(kafka_bootstrap, s)
    began = time.monotonic()
    standby = standby_producer(s, kafka_bootstrap, None)
    assert standby is not None
    assert time.monotonic() - began < 5  # not held by the open offsets of the group
    assert standby.metadata is not None and s.answers_topic in standby.metadata.topics
    assert standby.group is not None
    time.sleep(1)  # ample time for anything the standby might send on its own
    running.commit_transaction(30)  # not fenced
    assert becomes_stable(kafka_bootstrap, s.answers_topic)
    assert visible(kafka_bootstrap, s.answers_topic) == [b"left open"]

    transactions = rendezvous_transactions(
        s, kafka_bootstrap, None, threading.Event(), ready=standby
    )
    assert transactions.producer is standby.producer
    assert standby.group is None  # used once, and closed
    running.begin_transaction()
    running.produce(s.answers_topic, value=b"after the take-over", partition=0)
    with pytest.raises(KafkaException) as fenced:
        running.commit_transaction(30)
    assert fenced.value.args[0].fatal()
    assert visible(kafka_bootstrap, s.answers_topic) == [b"left open"]
    # the left-overs' transaction was aborted: the offsets are the predecessor's
    assert committed_offset(kafka_bootstrap, s) == 5
    transactions.close()


def test_a_dead_instances_transaction_holds_its_partitions_only_for_the_timeout(
    kafka_bootstrap: str,
) -> None:
    # An instance under another name (a peer, an unnamed successor) cannot fence a dead one's
    # transaction: while it holds the group's offsets, no new member reads them, until Kafka
    # aborts it at the rendezvous's transaction timeout (10 s; librdkafka's default, 60 s,
    # measured 65 s here before it was set) plus the coordinator's check interval (10 s).
    stack = StackTopics(kafka_bootstrap)
    s = settings(stack)
    dead = rendezvous_transactions(s, kafka_bootstrap, None, threading.Event())
    raw = dead.producer.raw
    # From before the transaction begins: Kafka cannot abort it sooner than the timeout after.
    started = time.monotonic()
    raw.begin_transaction()
    raw.produce(s.answers_topic, value=b"never committed", key=b"r1", partition=0)
    group = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": s.group_id})
    raw.send_offsets_to_transaction(
        [TopicPartition(s.requests_topic, 0, 1)], group.consumer_group_metadata(), 10
    )
    group.close()
    try:
        committed = committed_offset(kafka_bootstrap, s)
    finally:
        waited = time.monotonic() - started
        with contextlib.suppress(KafkaException):
            raw.abort_transaction(5)  # where Kafka has not (the test failing), not to hang
    assert committed < 0  # Kafka aborted the dead one's offsets
    assert s.transaction_timeout_ms / 1000 - 1 <= waited <= 30  # not the minute of the default
    assert becomes_stable(kafka_bootstrap, s.answers_topic)
    assert visible(kafka_bootstrap, s.answers_topic) == []


def test_a_transaction_kafka_timed_out_fails_as_fatal_not_as_taken_over(
    kafka_bootstrap: str,
) -> None:
    # Seen in the `broker` chaos scenario: Kafka away for 10 s, the open transaction outlived
    # its timeout, Kafka aborted it and bumped the epoch, and librdkafka called the commit
    # fenced. The rendezvous took that for another instance of its name and stopped for good.
    with rendezvous_writer(kafka_bootstrap) as (s, transactions):
        writer = transactions.writer
        assert writer.send([Outgoing(s.answers_topic, b"decided", b"r1", partition=0)])
        # past the timeout, and the embedded broker's 1 s check for transactions to abort
        time.sleep(s.transaction_timeout_ms / 1000 + 2)
        assert writer.submit([])
        writer.wait_idle(30)
        failure = writer.failure
        assert failure is not None and failure.fatal and not failure.fenced, failure
        assert "past its 10 s timeout" in str(failure)
        transactions.replace(str(failure))  # what the rendezvous does with a fatal failure
        assert transactions.writer.send([Outgoing(s.answers_topic, b"again", b"r1", partition=0)])
        assert transactions.writer.submit([])
        transactions.writer.wait_idle(30)
        assert transactions.writer.failure is None
    assert becomes_stable(kafka_bootstrap, s.answers_topic)
    assert visible(kafka_bootstrap, s.answers_topic) == [b"again"]


OPEN = """
import json, sys, threading
from rdv.rendezvous.delivery import transactions
from rdv.rendezvous.settings import RendezvousServiceSettings
s = RendezvousServiceSettings(**json.loads(sys.argv[2]))
transactions(s, sys.argv[1], None, threading.Event())
print("opened")
"""


def test_a_new_producer_opens_on_a_broker_that_never_had_a_group() -> None:
    # A rendezvous started first on a fresh cluster blocked for good in its first
    # send_offsets_to_transaction (no __consumer_offsets yet), past the call's timeout. A
    # blocked C call cannot be interrupted, so the opening runs in a process of its own.
    with EmbeddedBroker.throwaway() as broker:
        s = settings(StackTopics(broker.bootstrap))
        opening = subprocess.run(
            [sys.executable, "-c", OPEN, broker.bootstrap, s.model_dump_json()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert opening.returncode == 0, opening.stderr
    assert opening.stdout.strip() == "opened"


def test_a_producer_the_broker_refuses_for_good_stops_with_why_instead_of_retrying(
    kafka_bootstrap: str,
) -> None:
    # A transaction timeout over the broker's transaction.max.timeout.ms (15 min by default)
    # is a fatal init_transactions error: the rendezvous retried it every 5 s, for good.
    s = settings(StackTopics(kafka_bootstrap)).model_copy(
        update={"transaction_timeout_ms": 3_600_000}
    )
    started = time.monotonic()
    with pytest.raises(RendezvousError) as refused:
        rendezvous_transactions(s, kafka_bootstrap, None, threading.Event())
    assert time.monotonic() - started < 30
    assert f"rdv-rendezvous-{s.instance} cannot start" in str(refused.value)
    assert "RDV_RENDEZVOUS_TRANSACTION_TIMEOUT_MS" in str(refused.value)


def test_a_writer_fenced_with_answers_in_flight_fails_as_taken_over_not_on_a_traceback(
    kafka_bootstrap: str,
) -> None:
    # Seen in CI: a second instance of a name fenced the first while its answers were in
    # flight; the poll that counts delivery reports raised the fatal error, and the first
    # died on a traceback instead of saying that another instance took its place.
    with rendezvous_writer(kafka_bootstrap) as (s, transactions):
        writer = transactions.writer
        newer = Producer(
            {
                "bootstrap.servers": kafka_bootstrap,
                "transactional.id": f"rdv-rendezvous-{s.instance}",
            }
        )
        newer.init_transactions(30)
        assert writer.send([Outgoing(s.answers_topic, b"decided", b"r1", partition=0)])
        deadline = time.monotonic() + 30
        while writer.failure is None and time.monotonic() < deadline:
            writer.drained()
            time.sleep(0.05)
        assert writer.failure is not None and writer.failure.fenced, writer.failure
