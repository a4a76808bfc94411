"""Producer: idempotent, low-latency, every delivery checked, and a wedged client replaced.

One that may linger when busy (`linger_when_busy`) holds a second librdkafka client with
`linger.ms` set, and sends through it while it sends fast (rdv.kafka.pace). A message sent
`at_once=False` (a score that is only recorded) always goes through the lingering client and
is not counted in the pace, so that it never makes the urgent ones linger. Messages of one
key may then leave out of order when it changes lanes: for requests and scores, each standing
alone, that is harmless; for anything whose order matters, it stays off."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import Producer as _Producer

from rdv.errors import RendezvousError
from rdv.kafka.admin import has_leaders
from rdv.kafka.envelopes import Outgoing
from rdv.kafka.new_client import new_client
from rdv.kafka.pace import SendPace
from rdv.kafka.settings import PRODUCER_LATENCY_DEFAULTS, KafkaSettings

log = logging.getLogger(__name__)
DeliveryCallback = Callable[[Outgoing, str | None], None]

# After this long without a single delivery report while messages wait, and as long again
# with Kafka answering a new client, the librdkafka client is taken to be wedged. Seen here
# after Kafka restarts: an idempotent producer that lived through the outage delivered
# nothing for minutes while a new one delivered at once.
STALL_SECONDS = 10.0
# A new client's first messages waited ~0.5 s at 4,000/s, even once `list_topics` had
# answered on it; a second after its creation they did not. The lingering client of a busy
# producer is used from then on.
LINGERING_AFTER_S = 1.0


class DeliveryError(RendezvousError):
    """Messages that the broker did not acknowledge. Nothing they stand for may be committed."""


_HINTS = {
    KafkaError.UNKNOWN_TOPIC_OR_PART: " (create the topics with `rdv topics create`)",
    KafkaError._MSG_TIMED_OUT: " (is the broker reachable, and does the topic exist?)",
}


def _delivery_failure(topic: str, err: KafkaError) -> str:
    return f"{topic}: {err.str()}{_HINTS.get(err.code(), '')}"


def _answers(probe: _Producer, topics: set[str]) -> bool:
    """Kafka names a leader for every partition of `topics`, asked by a client of its own."""
    try:
        return all(has_leaders(probe.list_topics(t, timeout=2).topics[t]) for t in topics)
    except KafkaException:
        return False


class Producer:
    def __init__(
        self,
        bootstrap: str,
        settings: KafkaSettings | None = None,
        overrides: dict[str, Any] | None = None,
        client_id: str = "rdv",
        stall_seconds: float | None = None,
        linger_when_busy: bool = False,
    ) -> None:
        kafka = settings or KafkaSettings()
        self._config = {
            **kafka.client_config(bootstrap),
            **PRODUCER_LATENCY_DEFAULTS,
            "client.id": client_id,
            "logger": logging.getLogger("rdv.kafka.librdkafka"),
            **(overrides or {}),
            **kafka.extra,  # the user's word is last
        }
        self._producer = new_client(_Producer, self._config)
        # The user's own linger.ms, or a transaction (one client), leaves a single lane.
        lanes = (
            linger_when_busy
            and kafka.busy_linger_ms > 0
            and kafka.busy_per_s > 0
            and self._config.get("linger.ms") == PRODUCER_LATENCY_DEFAULTS["linger.ms"]
            and "transactional.id" not in self._config
        )
        self._pace = SendPace(kafka.busy_per_s) if lanes else None
        self._lingering_config = {**self._config, "linger.ms": kafka.busy_linger_ms}
        self._lingering = new_client(_Producer, self._lingering_config) if lanes else None
        self._lingering_from = time.monotonic() + LINGERING_AFTER_S
        self.lingered = 0  # messages sent through the lingering client
        self._failures: list[str] = []
        # A transaction cannot move to another client: the rendezvous replaces its
        # transactional producer itself (rdv.rendezvous.transactions).
        stall = STALL_SECONDS if stall_seconds is None else stall_seconds
        self._stall = 0.0 if "transactional.id" in self._config else stall
        self._lock = threading.RLock()
        self._pending: dict[int, tuple[Outgoing, DeliveryCallback | None]] = {}
        self._numbers = itertools.count()
        self._generation = 0
        self._progress = time.monotonic()  # the last delivery report, or the first send after none
        self._answering_since: float | None = None
        self._next_probe = 0.0
        self._spare: _Producer | None = None
        self._retired: list[_Producer] = []
        self.replacements = 0

    def send(
        self, message: Outgoing, on_delivery: DeliveryCallback | None = None, at_once: bool = True
    ) -> None:
        """Queue one message; its delivery is confirmed (or reported) by the next flush().
        `at_once=False`: no answer waits for it, so it may linger (see the module's doc)."""
        with self._lock:
            number = next(self._numbers)
            if not self._pending:
                self._progress = time.monotonic()
            self._pending[number] = (message, on_delivery)
            self._produce(number, message, on_delivery, at_once)
        self.poll(0)

    def _produce(
        self,
        number: int,
        message: Outgoing,
        on_delivery: DeliveryCallback | None,
        at_once: bool = True,
    ) -> None:
        generation = self._generation

        def delivered(err: KafkaError | None, _msg: Any) -> None:
            with self._lock:
                if generation != self._generation:
                    return  # a replaced client's late report: the message went out again
                self._progress = time.monotonic()
                self._answering_since = None
                if self._pending.pop(number, None) is None:
                    return
            reason = None if err is None else _delivery_failure(message.topic, err)
            if reason:
                self._failures.append(reason)
            if on_delivery:
                on_delivery(message, reason)

        try:
            self._queue(message, delivered, at_once)
        except KafkaException as exc:
            self._pending.pop(number, None)
            raise DeliveryError(f"cannot produce to {message.topic}: {exc}") from exc

    def write(self, message: Outgoing) -> None:
        """Queue one record of the open transaction, untracked: a record that fails makes the
        commit fail, which is the one report a transaction needs. librdkafka's refusal (the
        transaction's state) is raised as its KafkaException."""
        self._queue(message, None)

    def _queue(
        self, message: Outgoing, on_delivery: Callable[..., None] | None, at_once: bool = True
    ) -> None:
        kwargs: dict[str, Any] = {
            "value": message.value,
            "key": message.key,
            "headers": list(message.headers) or None,
        }
        if on_delivery is not None:
            kwargs["on_delivery"] = on_delivery
        if message.partition is not None:
            kwargs["partition"] = message.partition
        lane = self._lane(at_once)
        while True:
            try:
                lane.produce(message.topic, **kwargs)
                return
            except BufferError:
                # The local queue is full: serve delivery reports to make room, then retry.
                lane.poll(0.05)

    def _lane(self, at_once: bool = True) -> _Producer:
        if self._lingering is None or not self._pace:
            return self._producer
        now = time.monotonic()
        # A co-hosting worker sends the champion's score and two shadows' for each request:
        # counted together they made the champion's linger at a third of the busy rate
        # (docs/performance.md, "Shadows' scores that made the champion's linger").
        busy = self._pace.send(now) if at_once else True
        if not busy or now < self._lingering_from:
            return self._producer
        self.lingered += 1
        return self._lingering

    def connect(self, topic: str, timeout: float = 10.0) -> None:
        """Connect and learn `topic`'s leaders now. A request's SLA runs from its creation, so
        a client's first requests must not wait out its connection; an idempotent producer
        asks for its producer id as soon as it is connected."""
        try:
            for client in (self._producer, self._lingering):
                if client is not None:
                    client.list_topics(topic, timeout=timeout)
        except KafkaException as exc:
            raise DeliveryError(f"cannot reach Kafka for {topic}: {exc}") from exc

    def poll(self, timeout: float = 0.0) -> None:
        """Serve delivery reports without waiting for all of them."""
        if self._lingering is not None:
            self._lingering.poll(0)
        self._producer.poll(timeout)

    @property
    def waiting(self) -> int:
        """Messages sent and not yet acknowledged (nor reported failed)."""
        with self._lock:
            return len(self._pending)

    def heal(self) -> bool:
        """Replace a wedged client: nothing delivered for `stall_seconds` while messages wait,
        and Kafka has answered a new client for as long again. The waiting messages go out
        again through the new one (keys keep them on their partitions and in order); a copy
        the old client may have written already is a duplicate that readers drop by id. True
        if the client was replaced."""
        if self._stall <= 0:
            return False
        self.poll(0)
        now = time.monotonic()
        with self._lock:
            if not self._pending or now - self._progress < self._stall or now < self._next_probe:
                return False
            self._next_probe = now + 1.0
            topics = {message.topic for message, _ in self._pending.values()}
        self._spare = self._spare or new_client(_Producer, self._config)
        answering = _answers(self._spare, topics)
        self._spare.poll(0)  # its log lines (refused connections, in an outage) queue until served
        with self._lock:
            if not self._pending or time.monotonic() - self._progress < self._stall:
                return False
            if not answering:
                self._answering_since = None
                return False
            self._answering_since = self._answering_since or now
            if now - self._answering_since < self._stall:
                return False
            self._replace()
            return True

    def _replace(self) -> None:
        old, self._producer, self._spare = (
            self._producer,
            self._spare or new_client(_Producer, self._config),
            None,
        )
        self._generation += 1
        stuck = sorted(self._pending.items())
        log.warning(
            "Kafka producer %s delivered nothing for %.0f s with %d messages waiting while "
            "Kafka answered a new client: replacing it and sending them again",
            self._config["client.id"],
            time.monotonic() - self._progress,
            len(stuck),
        )
        retiring = [old] if self._lingering is None else [old, self._lingering]
        for client in retiring:
            client.purge(in_queue=True, in_flight=True, blocking=False)
        # Kept, not destroyed: destroying a wedged client can block; it goes with the process.
        self._retired = [*self._retired[-4:], *retiring]
        if self._lingering is not None:
            self._lingering = new_client(_Producer, self._lingering_config)
            self._lingering_from = time.monotonic() + LINGERING_AFTER_S
        self.replacements += 1
        self._progress, self._answering_since = time.monotonic(), None
        for number, (message, on_delivery) in stuck:
            self._produce(number, message, on_delivery)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything sent is acknowledged; DeliveryError if anything was not."""
        deadline = time.monotonic() + timeout
        remaining = self._flush_lanes(min(timeout, 1.0))
        while remaining and time.monotonic() < deadline:
            self.heal()
            remaining = self._flush_lanes(max(0.0, min(1.0, deadline - time.monotonic())))
        failures, self._failures = self._failures, []
        if remaining:
            failures.append(f"{remaining} messages still unacknowledged after {timeout:.0f} s")
        if failures:
            raise DeliveryError(f"{len(failures)} deliveries failed, first: {failures[0]}")

    def _flush_lanes(self, timeout: float) -> int:
        """Messages still unacknowledged after flushing each client for up to `timeout`."""
        lingering = self._lingering.flush(timeout) if self._lingering is not None else 0
        return lingering + self._producer.flush(timeout)

    def close(self, timeout: float = 30.0) -> None:
        self.flush(timeout)

    @property
    def raw(self) -> _Producer:
        """The confluent_kafka producer, for the transactional API of the rendezvous."""
        return self._producer
