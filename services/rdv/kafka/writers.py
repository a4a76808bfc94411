"""Writing the rendezvous's output in Kafka transactions that stream.

The loop sends each decision into the open transaction as soon as it is made, so a client
reading `answers` read_uncommitted has its answer within milliseconds; read_committed readers
see it once the transaction commits. Every `commit_interval_ms` the loop hands the open
transaction, with the consumed offsets, to this writer's thread to commit: a commit takes
milliseconds to tens of milliseconds, and the loop goes on deciding meanwhile. What it decides
during a commit waits in the loop (librdkafka takes no new records until the commit ends) and
opens the next transaction. One transaction at a time, so they commit in decision order."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import TopicPartition as _TopicPartition

from rdv.kafka.consumer import Consumer
from rdv.kafka.envelopes import Offset, Outgoing
from rdv.kafka.producer import Producer
from rdv.kafka.retry import again

log = logging.getLogger(__name__)

# A transaction not ended after this long is stuck, not slow: every call in it has a 10 s
# timeout, yet librdkafka can block in send_offsets_to_transaction for good once the group
# coordinator moved (confluentinc/librdkafka#5456, #5511; seen here when Kafka restarts).
STUCK_AFTER_S = 20.0

# How long the writer waits after a commit before the next transaction may take records. The
# coordinator is still writing the commit's markers when the commit returns, and it refuses
# the next transaction's partitions meanwhile (CONCURRENT_TRANSACTIONS), after which librdkafka
# tries again only 20 ms later, a pause no setting shortens. Measured on 18 partitions, from
# the commit's return to the next transaction's first record delivered: p50 2.9 ms, p90 24 ms
# at once; p50 4.7, p90 5.2, max 8.0 after 2 ms (docs/performance.md).
MARKERS_S = 0.002

# How long a due commit may wait for the records already sent to be delivered. librdkafka's
# commit first waits for every record in flight, and from its start to its end it takes no new
# record: what the loop decides meanwhile waits with it. Begun once nothing is in flight, a
# commit is little more than its round trips to the two coordinators.
DRAIN_S = 0.05


@dataclass(frozen=True)
class TransactionFailure:
    """Why a transaction failed, as the loop needs it: `fatal` means this producer can do
    nothing more (a new one must replace it); `fenced` that another producer took its
    transactional id."""

    text: str
    fatal: bool = False
    fenced: bool = False

    def __str__(self) -> str:
        return self.text

    @classmethod
    def of(
        cls, error: KafkaError, open_s: float = 0.0, timeout_s: float = float("inf")
    ) -> TransactionFailure:
        """`open_s`: how long the failed transaction had been open; `timeout_s`: its
        transaction.timeout.ms. Kafka's coordinator aborts a transaction open past its timeout
        and bumps the producer's epoch, and librdkafka then reports the next call as fenced,
        though no other producer took the id: a new producer of the id may go on."""
        fenced = error.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED)
        if fenced and open_s >= timeout_s:
            return cls(
                f"{error} (the transaction was open {open_s:.1f} s, past its {timeout_s:.0f} s "
                "timeout: Kafka aborted it and bumped the producer's epoch)",
                fatal=True,
            )
        return cls(str(error), bool(error.fatal()), fenced)


class Drain:
    """When a due commit begins: once nothing sent is in flight, or DRAIN_S after it was
    first found waiting, whichever comes first."""

    def __init__(self, limit_s: float = DRAIN_S) -> None:
        self._limit_s = limit_s
        self._since: float | None = None  # when records were first found in flight

    def ready(self, in_flight: int, now: float) -> bool:
        if in_flight == 0 or (self._since is not None and now - self._since >= self._limit_s):
            self._since = None
            return True
        if self._since is None:
            self._since = now
        return False


def native(offsets: list[Offset]) -> list[_TopicPartition]:
    return [_TopicPartition(o.topic, o.partition, o.offset) for o in offsets]


class AtLeastOnceWriter:
    """Without transactions: send at once; commit offsets only after everything sent so far
    is delivered (a crash may then repeat answers, never lose one)."""

    def __init__(self, producer: Producer, consumer: Consumer) -> None:
        self._producer, self._consumer = producer, consumer

    def send(self, outgoing: list[Outgoing]) -> None:
        for message in outgoing:
            self._producer.send(message)
        self._producer.poll(0)

    def send_after_delivered(self, outgoing: list[Outgoing]) -> None:
        """Send these only once everything sent before them is delivered: a state entry
        that says an answer was given must not reach Kafka before that answer does."""
        if outgoing:
            self._producer.flush()
            self.send(outgoing)

    def commit(self, offsets: list[Offset]) -> None:
        if offsets:
            self._producer.flush()
            self._consumer.raw.commit(offsets=native(offsets), asynchronous=True)


class TransactionalWriter:
    def __init__(
        self,
        producer: Producer,
        consumer: Consumer,
        observe: Callable[[float], None] = lambda _: None,
        timeout_s: float = float("inf"),
    ) -> None:
        self._producer, self._consumer, self._observe = producer, consumer, observe
        self._timeout_s = timeout_s  # transaction.timeout.ms: Kafka aborts one open longer
        self._ready = threading.Condition()
        self._batch: tuple[list[_TopicPartition], Any] | None = None
        self._busy = False  # a commit is in flight: nothing can be sent until it ends
        self._open = False  # a transaction has begun and holds records not yet committed
        self._closed = False
        self._abandoned = False  # the batch in flight is no longer wanted: abort, report nothing
        self._since: float | None = None  # when the commit in flight began
        self._drain = Drain()
        self._began: float | None = None  # when the open (or committing) transaction began
        self.failure: TransactionFailure | None = None  # set by a failed commit, read by the loop
        self._thread = threading.Thread(target=self._run, name="rdv-transactions", daemon=True)
        self._thread.start()

    @property
    def busy(self) -> bool:
        with self._ready:
            return self._busy

    def send(self, outgoing: list[Outgoing]) -> bool:
        """Write these into the open transaction (beginning one if needed) at once; False
        (nothing taken) while a commit is in flight. A record librdkafka refuses dooms the
        transaction: its commit fails and the loop reads again from the committed offsets."""
        raw = self._producer.raw
        error: KafkaError | None = None
        with self._ready:
            if self._busy or self._closed:
                return False
            try:
                if not self._open:
                    raw.begin_transaction()
                    self._open, self._began = True, time.monotonic()
                for message in outgoing:
                    self._producer.write(message)
            except KafkaException as exc:
                error = exc.args[0]
        error = error or self._serve()
        if error is not None:
            self._met(error, "could not write into the transaction")
        return True

    def _serve(self) -> KafkaError | None:
        """Serve the delivery reports; the producer's fatal error (fenced, say) once it has
        one, which librdkafka raises from the poll."""
        try:
            self._producer.raw.poll(0)
        except KafkaException as exc:
            return exc.args[0]  # type: ignore[no-any-return]
        return None

    def _met(self, error: KafkaError, doing: str) -> None:
        log.error("%s: %s", doing, error)
        if error.fatal():
            self.failure = self._failure(error)  # met as a failed commit is

    def submit(self, offsets: list[Offset]) -> bool:
        """Commit the open transaction, with these consumed offsets, on the writer's thread;
        False (nothing taken) while a commit is in flight. True with nothing to do."""
        metadata = self._consumer.raw.consumer_group_metadata() if offsets else None
        with self._ready:
            if self._busy or self._closed:
                return False
            if not self._open and not offsets:
                return True
            self._batch, self._busy = (native(offsets), metadata), True
            self._ready.notify_all()
        return True

    def drained(self) -> bool:
        """Whether a due commit should begin now (see `Drain`)."""
        # librdkafka counts delivery reports until they are served. A fatal error met here
        # (fenced by an instance of this name) once escaped the loop as a traceback instead of
        # the one line that says what to change (seen in CI): it is met as a failed commit is.
        error = self._serve()
        if error is not None:
            self._met(error, "the producer failed")
            return True  # the commit begun now fails at once, and the loop mends that
        return self._drain.ready(len(self._producer.raw), time.monotonic())

    @property
    def stuck_for(self) -> float:
        """Seconds the transaction in flight has run, once past STUCK_AFTER_S; else 0."""
        since = self._since
        running = time.monotonic() - since if since is not None else 0.0
        return running if running > STUCK_AFTER_S else 0.0

    def wait_idle(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        with self._ready:
            while self._busy and time.monotonic() < deadline:
                self._ready.wait(0.05)

    def fenced(self, probe: Outgoing) -> bool:
        """Whether another producer took this one's transactional id, asked of Kafka by an
        abort: of the open transaction, or else of one holding `probe` alone (read_committed
        readers never see it). What is open is lost either way; the loop reads again."""
        self.wait_idle()
        if self.failure is not None:
            return self.failure.fenced
        raw = self._producer.raw
        with self._ready:
            try:
                if not self._open:
                    raw.begin_transaction()
                    self._producer.write(probe)  # an abort of nothing never reaches Kafka
                self._open = False
                self._again(lambda: raw.abort_transaction(10))
            except KafkaException as exc:
                self.failure = self._failure(exc.args[0])
                log.error("the probing abort failed: %s", self.failure)
                return self.failure.fenced
        return False

    def abandon(self) -> None:
        """Stop caring how the transaction in flight ends: its offsets belong to a group
        generation that is gone. It still runs to its end (librdkafka allows nothing else
        meanwhile); if it fails it is aborted and the failure is not reported, since the loop
        has already dropped what it held. No wait here: Kafka may still be away."""
        with self._ready:
            if self._busy:
                self._abandoned = True

    def retire(self) -> None:
        """Let go of this writer once a new producer has replaced its own: what is in flight is
        abandoned and no longer retried, and the thread ends when its current call returns. A
        call blocked inside librdkafka keeps the thread (and the old producer) until then."""
        with self._ready:
            self._abandoned = self._abandoned or self._busy
            self._closed = True
            self._ready.notify_all()

    def close(self) -> None:
        self.wait_idle()
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            with self._ready:
                while self._batch is None and not self._closed:
                    self._ready.wait()
                if self._batch is None:
                    return
                offsets, metadata = self._batch
                opened, self._open = self._open, False
            self._since = time.monotonic()
            self._commit(opened, offsets, metadata)
            self._since = self._began = None
            with self._ready:
                self._batch, self._busy, self._abandoned = None, False, False
                self._ready.notify_all()

    def _commit(self, opened: bool, offsets: list[_TopicPartition], metadata: Any) -> None:
        raw = self._producer.raw
        started = time.perf_counter()
        try:
            if not opened:
                raw.begin_transaction()
                self._began = time.monotonic()
            if offsets:
                self._again(lambda: raw.send_offsets_to_transaction(offsets, metadata, 10))
            self._again(lambda: raw.commit_transaction(-1))
            self._observe(time.perf_counter() - started)
            time.sleep(MARKERS_S)
        except KafkaException as exc:
            error = exc.args[0]
            if self._abandoned:
                log.warning("the abandoned transaction failed (%s); aborting it", error)
            else:
                log.error("transaction failed: %s", error)
            if error.txn_requires_abort():
                error = self._abort() or error
            if not self._abandoned or error.fatal():
                self.failure = self._failure(error)

    def _failure(self, error: KafkaError) -> TransactionFailure:
        began = self._began
        open_s = time.monotonic() - began if began is not None else 0.0
        return TransactionFailure.of(error, open_s, self._timeout_s)

    def _abort(self) -> KafkaError | None:
        """Abort until done (no transaction can begin before this one has ended); the error
        if the abort itself failed."""
        try:
            self._again(lambda: self._producer.raw.abort_transaction(-1))
            return None
        except KafkaException as exc:
            log.error("aborting the transaction failed: %s", exc.args[0])
            return cast(KafkaError, exc.args[0])

    def _again(self, call: Callable[[], Any]) -> None:
        again(call, give_up=lambda: self._closed)
