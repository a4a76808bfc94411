"""One writer at a time: a compare-and-set on a topic, which Kafka has no call for.

A transactional producer fences every earlier producer of its transactional id when it starts,
and the coordinator ends what they left open. So a writer that starts one, then checks what the
topic holds, then writes and commits, either commits with its check still true or fails: a
later writer of the same id fenced it before its commit, and whatever it wrote is aborted. Two
`rdv rollout` commands run at the same moment can then no longer publish the same version."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException

from rdv.errors import RendezvousError
from rdv.kafka.envelopes import Outgoing
from rdv.kafka.settings import KafkaSettings
from rdv.kafka.transactions import open_producer


class RaceLostError(RendezvousError):
    """Another writer of the same transactional id started before this one committed."""


def write_exclusively(
    bootstrap: str,
    kafka: KafkaSettings | None,
    transactional_id: str,
    check: Callable[[], Outgoing],
    timeout: float = 30.0,
) -> None:
    """Fence every other writer of `transactional_id`, then write what `check()` returns
    (it reads the topic and raises to write nothing), in one committed transaction."""
    producer = open_producer(
        bootstrap, kafka, transactional_id, transactional_id, threading.Event()
    )
    failed = True
    try:
        message = check()
        raw = producer.raw
        raw.begin_transaction()
        producer.send(message)
        raw.commit_transaction(timeout)
        failed = False
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if isinstance(error, KafkaError) and error.code() in (
            KafkaError._FENCED,
            KafkaError.PRODUCER_FENCED,
        ):
            raise RaceLostError(f"another writer of {transactional_id} came first") from exc
        raise RendezvousError(f"cannot write for {transactional_id}: {exc}") from exc
    finally:
        # A committed transaction's message is delivered; a failed one's is aborted and has
        # nothing to deliver. Flushing a fenced producer ran the purged message's report with
        # confluent-kafka's fatal error still pending, and raised a SystemError in place of
        # the race lost (seen in CI).
        if failed:
            producer.raw.purge(in_queue=True, in_flight=True, blocking=False)
        else:
            with contextlib.suppress(RendezvousError):
                producer.close(timeout)
