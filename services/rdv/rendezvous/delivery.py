"""The rendezvous's two delivery modes behind one face, so the loop reads the same in both.

exactly_once: answers, records, state entries and consumed offsets go into Kafka transactions
(kafka/writers.py streams each decision into the open one and commits on an interval); a
failed or stuck transaction is mended here with a new producer, and the loop reads again from
the committed offsets. at_least_once: the same writes without transactions; offsets commit
once everything sent is delivered, so a crash may repeat answers, never lose one."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from rdv.errors import RendezvousError
from rdv.kafka import (
    AtLeastOnceWriter,
    Consumer,
    KafkaSettings,
    Offset,
    Outgoing,
    Standby,
    TransactionFailure,
    Transactions,
    open_producer,
    standby,
)
from rdv.rendezvous.settings import RendezvousServiceSettings

log = logging.getLogger(__name__)

# A fatal error is met with a new producer, but not more often than this: a fault that comes
# straight back must stop the service loudly instead.
FATAL_LIMIT, FATAL_WINDOW_S = 3, 300.0
CLIENT_ID = "rdv-rendezvous"


class Delivery(Protocol):
    def attach(self, consumer: Consumer) -> None:
        """Start writing; offsets are committed for this consumer's group."""

    def mended(self) -> bool:
        """Mend a failed or stuck write; True when what it held is gone, so the loop must read
        again from the committed offsets."""

    def ready(self, wait: bool) -> bool:
        """Whether output can be written now; with `wait`, once the commit in flight ended."""

    def write(self, outgoing: list[Outgoing]) -> bool:
        """Send these at once; True when taken (False: hold them for the next turn)."""

    def drained(self) -> bool:
        """Whether a commit that is due should begin now: False while what was written is
        still on its way, for a few ms at most."""

    def write_state(self, entries: list[Outgoing]) -> bool:
        """Write state entries for what was written before them; True when taken."""

    def commit(self, marks: list[Offset]) -> bool:
        """Commit what was written with these consumed offsets; True when taken."""

    def finish(self) -> bool:
        """Wait until everything written is committed; True if that failed (read again)."""

    def before_restore(self, stopping: threading.Event) -> None:
        """Make the state topic final before partitions are restored from it."""

    def lost(self) -> None:
        """The group took the partitions away: what is in flight can no longer commit."""

    def fenced_too(self) -> bool:
        """Asked once the consumer was fenced: whether the producer was too, by another
        instance of this name (what is in flight is dropped: the loop reads again)."""

    def close(self) -> None: ...


class ExactlyOnce:
    def __init__(
        self,
        settings: RendezvousServiceSettings,
        bootstrap: str,
        kafka: KafkaSettings | None,
        stopping: threading.Event,
        observe: Callable[[float], None],
        replaced: Callable[[str], None],
        ready: Standby | None = None,
    ) -> None:
        self._instance, self._replaced = settings.instance, replaced
        self._state_topic = settings.state_topic
        # Opened before anything is read, so the previous incarnation's open transaction has
        # ended before this one restores its state.
        self._tx = transactions(settings, bootstrap, kafka, stopping, observe, ready)
        self._fatal_at: list[float] = []  # when fatal failures were met with a new producer
        self._replace_on_assign = False  # set when an assignment is lost

    def attach(self, consumer: Consumer) -> None:
        self._tx.attach(consumer)

    def mended(self) -> bool:
        writer = self._tx.writer
        if writer.failure is not None:
            self._recover(writer.failure)
            return True
        if writer.stuck_for:
            self._replace("stuck", self._tx.stuck_reason())
            return True
        return False

    def ready(self, wait: bool) -> bool:
        if wait:
            self._tx.writer.wait_idle()
            return True
        return not self._tx.writer.busy  # keep deciding; the output joins the next transaction

    def write(self, outgoing: list[Outgoing]) -> bool:
        # An empty send would still begin a transaction.
        return not outgoing or self._tx.writer.send(outgoing)

    def drained(self) -> bool:
        return self._tx.writer.drained()

    def write_state(self, entries: list[Outgoing]) -> bool:
        return self.write(entries)  # all-or-nothing with the answers, in the transaction

    def commit(self, marks: list[Offset]) -> bool:
        return self._tx.writer.submit(marks)

    def finish(self) -> bool:
        writer = self._tx.writer
        writer.wait_idle()
        if writer.failure is None:
            return False
        self._recover(writer.failure)
        return True

    def before_restore(self, stopping: threading.Event) -> None:
        # A transaction left open by a lost assignment (or stuck) could otherwise commit
        # entries the restore did not see, and those requests would be answered twice.
        # Replacing the producer ends it at the coordinator.
        if self._replace_on_assign:
            self._replace("lost", "the partitions were lost while Kafka was away")
        self._replace_on_assign = False
        while self._tx.writer.busy and not stopping.is_set():
            if self._tx.writer.stuck_for:
                self._replace("stuck", self._tx.stuck_reason())
                break
            self._tx.writer.wait_idle(1.0)

    def lost(self) -> None:
        self._tx.writer.abandon()
        self._replace_on_assign = True

    def fenced_too(self) -> bool:
        # An instance starting under this name initialises its producer before it joins the
        # group (see RendezvousService.run), so by now its epoch has fenced this producer.
        return self._tx.writer.fenced(Outgoing(self._state_topic, None, b"rdv-fence-probe", (), 0))

    def close(self) -> None:
        self._tx.close()

    def _recover(self, failure: TransactionFailure) -> None:
        if failure.fatal:
            check_fatal(failure, self._instance, self._fatal_at, time.monotonic())
            self._replace("fatal", f"it failed for good ({failure})")
        else:
            log.error("transaction aborted (%s): rewinding to the committed offsets", failure)
            self._tx.writer.failure = None

    def _replace(self, reason: str, why: str) -> None:
        self._tx.replace(why)
        self._replaced(reason)


def transactions(
    settings: RendezvousServiceSettings,
    bootstrap: str,
    kafka: KafkaSettings | None,
    stopping: threading.Event,
    observe: Callable[[float], None] = lambda _: None,
    ready: Standby | None = None,
) -> Transactions:
    """The transactional producer of one rendezvous instance: it writes the answers, the log,
    the state and the dead letters, and commits the group's offsets on `requests`; `ready` is
    what `standby_producer` prepared."""
    s = settings
    return Transactions(
        bootstrap,
        kafka,
        transactional_id=transactional_id(s),
        group_id=s.group_id,
        topics=[s.answers_topic, s.log_topic, s.state_topic, s.dead_letters_topic],
        offsets_topic=s.requests_topic,
        stopping=stopping,
        observe=observe,
        client_id=CLIENT_ID,
        timeout_ms=s.transaction_timeout_ms,
        ready=ready,
    )


def transactional_id(settings: RendezvousServiceSettings) -> str:
    return f"rdv-rendezvous-{settings.instance}"


def open_delivery(
    settings: RendezvousServiceSettings,
    bootstrap: str,
    kafka: KafkaSettings | None,
    stopping: threading.Event,
    observe: Callable[[float], None],
    replaced: Callable[[str], None],
    ready: Standby | None,
    consumer: Consumer,
) -> Delivery:
    """The settings' delivery mode, attached to `consumer` (closed if the mode cannot open);
    exactly-once's producer is the one `ready` holds (see `standby_producer`), initialised
    now."""
    delivery: Delivery
    try:
        if settings.delivery == "exactly_once":
            delivery = ExactlyOnce(settings, bootstrap, kafka, stopping, observe, replaced, ready)
        else:
            delivery = AtLeastOnce(bootstrap, kafka, stopping)
    except BaseException:
        consumer.close()
        raise
    delivery.attach(consumer)
    return delivery


def standby_producer(
    settings: RendezvousServiceSettings, bootstrap: str, kafka: KafkaSettings | None
) -> Standby | None:
    """The transactional producer of an exactly-once instance, connected but not initialised,
    and what its left-overs' end needs from Kafka: made while the instance it replaces still
    runs, it takes over in ms (see `Standby`)."""
    if settings.delivery != "exactly_once":
        return None
    s = settings
    return standby(
        bootstrap,
        kafka,
        CLIENT_ID,
        transactional_id(s),
        s.group_id,
        s.requests_topic,
        s.transaction_timeout_ms,
    )


class AtLeastOnce:
    def __init__(
        self, bootstrap: str, kafka: KafkaSettings | None, stopping: threading.Event
    ) -> None:
        self._producer = open_producer(bootstrap, kafka, CLIENT_ID, None, stopping)
        self._writer: AtLeastOnceWriter | None = None

    def attach(self, consumer: Consumer) -> None:
        self._writer = AtLeastOnceWriter(self._producer, consumer)

    def mended(self) -> bool:
        return False

    def ready(self, wait: bool) -> bool:
        return True

    def write(self, outgoing: list[Outgoing]) -> bool:
        assert self._writer is not None, "attach a consumer first"
        self._writer.send(outgoing)  # also serves delivery reports when there is nothing new
        return True

    def drained(self) -> bool:
        return True  # its commit waits for deliveries itself, the loop's writes never

    def write_state(self, entries: list[Outgoing]) -> bool:
        # No transaction binds an entry to its answer: were the entry delivered and the
        # answer lost with a crash, the next instance would restore "answered" and never
        # send it (seen in CI, 2026-12-04). Entries go out once all before them is delivered.
        assert self._writer is not None, "attach a consumer first"
        self._writer.send_after_delivered(entries)
        return True

    def commit(self, marks: list[Offset]) -> bool:
        assert self._writer is not None, "attach a consumer first"
        self._writer.commit(marks)
        return True

    def finish(self) -> bool:
        return False

    def before_restore(self, stopping: threading.Event) -> None:
        pass

    def lost(self) -> None:
        pass

    def fenced_too(self) -> bool:
        return True  # no transactional id to ask: a fenced member stops, as before

    def close(self) -> None:
        pass


def taken_over(instance: str) -> RendezvousError:
    """What an instance says when another one started under its name took its place."""
    return RendezvousError(
        f"another rendezvous runs as instance {instance!r} and took over its "
        "transactions: give each instance its own RDV_RENDEZVOUS_INSTANCE"
    )


def check_fatal(
    failure: TransactionFailure, instance: str, fatal_at: list[float], now: float
) -> None:
    """Raise if a fatal failure is not one a new producer can mend: another instance took this
    transactional id, or fatal failures come back to back. Records `now` in `fatal_at`."""
    if failure.fenced:
        raise taken_over(instance)
    fatal_at[:] = [t for t in fatal_at if now - t < FATAL_WINDOW_S] + [now]
    if len(fatal_at) > FATAL_LIMIT:
        raise RendezvousError(
            f"the transactional producer failed for good {len(fatal_at)} times in "
            f"{FATAL_WINDOW_S:.0f} s, the last time with: {failure}"
        )
