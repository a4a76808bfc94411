"""Consumer: batch consume, offsets stored only after the work is durably written."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, OFFSET_INVALID, KafkaError, KafkaException
from confluent_kafka import Consumer as _Consumer
from confluent_kafka import TopicPartition as _TopicPartition

from rdv.errors import RendezvousError
from rdv.kafka.envelopes import Message, TopicPartition
from rdv.kafka.new_client import new_client
from rdv.kafka.retry import GROUP_COMMIT, kafka_retriable, retry, until_fatal
from rdv.kafka.settings import CONSUMER_LATENCY_DEFAULTS, KafkaSettings

log = logging.getLogger(__name__)
RebalanceHook = Callable[[list[TopicPartition]], None]


class ConsumerError(RendezvousError):
    """The consumer cannot go on (fatal client error, authentication failure). `fenced`: a
    consumer with the same group.instance.id took this one's place in the group."""

    def __init__(self, message: str, fenced: bool = False) -> None:
        super().__init__(message)
        self.fenced = fenced


_FENCED = {KafkaError._FENCED, KafkaError.FENCED_INSTANCE_ID}


def _is_fatal(error: KafkaError) -> bool:
    # librdkafka delivers a fatal error as an event of code _FATAL whose fatal() flag is not
    # set; it was logged as a warning, and a fenced rendezvous went on polling a dead
    # consumer, answering nothing (seen in CI after a broker restart).
    return bool(error.fatal()) or error.code() == KafkaError._FATAL


def _fatal(error: KafkaError) -> ConsumerError:
    # The underlying code of a _FATAL event is not exposed to Python; its text names it.
    fenced = error.code() in _FENCED or (
        error.code() == KafkaError._FATAL and "fenced" in error.str().lower()
    )
    return ConsumerError(f"fatal consumer error: {error.str()}", fenced)


def _envelope(msg: Any) -> Message:
    return Message(
        topic=msg.topic(),
        partition=msg.partition(),
        offset=msg.offset(),
        key=msg.key(),
        value=msg.value(),
        headers=tuple(msg.headers() or ()),
        timestamp_ms=msg.timestamp()[1],
    )


# Commit errors that pass once the group coordinator is back (librdkafka does not always mark
# them retriable).
_TRANSIENT_COMMIT_ERRORS = {
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.NOT_COORDINATOR,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
    KafkaError._WAIT_COORD,
}


# After these the group has moved on without this member.
_MEMBERSHIP_LOST = {
    KafkaError._ASSIGNMENT_LOST,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.REBALANCE_IN_PROGRESS,
}


def take_batch(consumer: _Consumer, max_messages: int, timeout: float) -> list[Message]:
    """Up to `max_messages` that are ready, waiting at most `timeout` for the first.

    consume(n, timeout) would wait the whole timeout unless n messages arrive, which puts
    the timeout on the latency of every lone request; so block on poll() for the first
    message, then take only what is already fetched."""
    try:
        first = consumer.poll(timeout)
    except KafkaException as exc:
        # Raised from poll when the group's bookkeeping fails inside a rebalance, e.g. fetching
        # committed offsets while the broker is down. The group retries on its own; dying
        # here would turn a broker restart into a lost service.
        error = exc.args[0] if exc.args else exc
        if isinstance(error, KafkaError) and _is_fatal(error):
            raise _fatal(error) from exc
        log.warning("consumer: %s; retrying", error)
        time.sleep(min(timeout, 0.5))
        return []
    if first is None:
        return []
    raw = [first]
    if max_messages > 1:
        raw.extend(consumer.consume(max_messages - 1, 0))
    batch: list[Message] = []
    for msg in raw:
        err = msg.error()
        if err is None:
            batch.append(_envelope(msg))
        elif _is_fatal(err):
            raise _fatal(err)
        elif err.code() != KafkaError._PARTITION_EOF:
            log.warning("consumer: %s", err.str())
    return batch


def _ours(partitions: list[Any]) -> list[TopicPartition]:
    return [TopicPartition(p.topic, p.partition) for p in partitions]


class Consumer:
    """One group member. `on_assign`/`on_revoke` get the partitions that changed hands
    (cooperative rebalancing: only those), so a service can finish and store their work.
    `on_lost` gets an assignment the group took away while this member could not hear it (its
    session timed out, as when Kafka is away longer than the session timeout): the work on it
    can no longer be committed. Without `on_lost`, `on_revoke` gets those too.

    `start_new_at_ms`: where the group starts on a partition it has never committed: at the
    first message from that time on (the end where there is none). The offset is committed
    at once, inside the assignment, so a member that dies before its first commit does not
    move the start on. Without it, `auto.offset.reset` decides (the earliest, by default)."""

    def __init__(
        self,
        bootstrap: str,
        group_id: str,
        topics: list[str],
        settings: KafkaSettings | None = None,
        overrides: dict[str, Any] | None = None,
        on_assign: RebalanceHook | None = None,
        on_revoke: RebalanceHook | None = None,
        on_lost: RebalanceHook | None = None,
        client_id: str = "rdv",
        start_new_at_ms: int | None = None,
        joined: bool = True,
    ) -> None:
        """Subscribed to `topics` at once, or (`joined` False) once `join` is called: made
        early, the client has found the group's coordinator by then."""
        self._start_new_at_ms = start_new_at_ms
        self._topics = topics
        config = {
            **(settings or KafkaSettings()).client_config(bootstrap),
            **CONSUMER_LATENCY_DEFAULTS,
            "group.id": group_id,
            "client.id": client_id,
            "logger": logging.getLogger("rdv.kafka.librdkafka"),
            **(overrides or {}),
            **(settings or KafkaSettings()).extra,  # the user's word is last
        }
        self._consumer = new_client(_Consumer, config)
        self._on_assign = on_assign
        self._on_revoke = on_revoke
        self._on_lost = on_lost or on_revoke
        self._closed = False
        if joined:
            self.join()
        else:
            # Connected now, which finds the group's coordinator too: the client connects
            # only once it needs a broker, and a join waited 0.05 s for that.
            with contextlib.suppress(KafkaException):
                self._consumer.list_topics(timeout=5)

    def join(self) -> None:
        """Subscribe: the group is joined in librdkafka's threads, the assignment served by a
        later poll."""
        self._consumer.subscribe(
            self._topics, on_assign=self._assigned, on_revoke=self._revoked, on_lost=self._lost
        )

    def _assigned(self, _consumer: Any, partitions: list[Any]) -> None:
        if self._start_new_at_ms is not None and partitions:
            self._pin_new_starts(partitions, self._start_new_at_ms)
        if self._on_assign:
            self._on_assign(_ours(partitions))

    def _pin_new_starts(self, partitions: list[Any], at_ms: int) -> None:
        # librdkafka fetches the committed offsets once this callback returns, so what is
        # committed here is where consumption starts.
        try:
            committed = self._consumer.committed(partitions, timeout=10)
            new = [tp for tp in committed if tp.offset < 0]
            if not new:
                return
            found = self._consumer.offsets_for_times(
                [_TopicPartition(tp.topic, tp.partition, at_ms) for tp in new], timeout=10
            )
            starts = []
            for tp in found:
                offset = tp.offset
                if offset < 0:  # nothing from that time on yet: start at the end
                    offset = self._consumer.get_watermark_offsets(tp, timeout=10)[1]
                starts.append(_TopicPartition(tp.topic, tp.partition, offset))
            self._consumer.commit(offsets=starts, asynchronous=False)
        except KafkaException as exc:
            log.warning(
                "could not set where a new group starts (%s): auto.offset.reset decides", exc
            )
            return
        log.info(
            "new group on %s: starting at %s",
            ", ".join(f"{tp.topic}[{tp.partition}]" for tp in starts),
            ", ".join(str(tp.offset) for tp in starts),
        )

    def _revoked(self, _consumer: Any, partitions: list[Any]) -> None:
        if self._on_revoke:
            self._on_revoke(_ours(partitions))

    def _lost(self, _consumer: Any, partitions: list[Any]) -> None:
        if self._on_lost:
            self._on_lost(_ours(partitions))

    def poll_batch(self, max_messages: int = 500, timeout: float = 0.1) -> list[Message]:
        """Up to `max_messages` that are ready, waiting at most `timeout` for the first."""
        return take_batch(self._consumer, max_messages, timeout)

    def store(self, messages: Iterable[Message]) -> None:
        """Mark these messages done: their offsets will be committed. Call only once what
        they caused is durably written (delivered, fsynced)."""
        highest: dict[tuple[str, int], int] = {}
        for m in messages:
            key = (m.topic, m.partition)
            highest[key] = max(highest.get(key, -1), m.offset)
        if not highest:
            return
        offsets = [_TopicPartition(t, p, o + 1) for (t, p), o in highest.items()]
        try:
            self._consumer.store_offsets(offsets=offsets)
        except KafkaException as exc:
            # A partition revoked meanwhile cannot be stored; its new owner re-reads the
            # messages, which is the at-least-once contract, so this is not fatal.
            log.info("could not store offsets (partition revoked?): %s", exc)

    def commit(self, attempts: int = 30) -> None:
        """Commit the stored offsets now and wait for the broker to confirm. Errors the broker
        calls retriable (its coordinator still loading after a restart, say) are retried with
        backoff. A lost membership (the session timed out while the broker was away) means
        the partitions go to a new member, which reads from the last committed offsets and
        redoes this work, so there is nothing left to commit here."""
        tries = iter(range(attempts - 1))

        def commit_or_let_go() -> None:
            try:
                self._consumer.commit(asynchronous=False)
            except KafkaException as exc:
                error = exc.args[0] if exc.args else None
                if error is None or (
                    error.code() not in _MEMBERSHIP_LOST and error.code() != KafkaError._NO_OFFSET
                ):
                    raise

        retry(
            commit_or_let_go,
            GROUP_COMMIT,
            kafka_retriable(*_TRANSIENT_COMMIT_ERRORS),
            give_up=lambda: next(tries, None) is None,
            what="commit",
        )

    def rewind(self, stopping: threading.Event) -> list[TopicPartition]:
        """Seek every assigned partition back to the group's committed offset (the beginning
        where none is committed) and return the assignment. The committed offsets are asked
        again, with backoff, while the broker cannot answer, until `stopping` is set."""
        assigned = self._consumer.assignment()
        # Fenced here too (a newer member of this name), as in poll: the caller says why.
        committed = until_fatal(
            lambda: list(self._consumer.committed(assigned, timeout=10)),
            "committed offsets",
            stopping,
            _fatal,
        )
        for tp in committed:
            start = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
            self._consumer.seek(_TopicPartition(tp.topic, tp.partition, start))
        return _ours(assigned)

    def assignment(self) -> list[TopicPartition]:
        return _ours(self._consumer.assignment())

    def lag(self) -> dict[TopicPartition, int]:
        """Messages not yet consumed per assigned partition (high watermark - position)."""
        result: dict[TopicPartition, int] = {}
        assigned = self._consumer.assignment()
        if not assigned:
            return result
        for tp in self._consumer.position(assigned):
            _, high = self._consumer.get_watermark_offsets(tp, cached=True) or (0, 0)
            position = tp.offset if tp.offset != OFFSET_INVALID else 0
            result[TopicPartition(tp.topic, tp.partition)] = max(0, high - position)
        return result

    def close(self) -> None:
        """Leave the group, committing stored offsets (auto-commit commits on close)."""
        if not self._closed:
            self._closed = True
            self._consumer.close()

    @property
    def raw(self) -> _Consumer:
        """The confluent_kafka consumer, for the transactional API of the rendezvous."""
        return self._consumer
