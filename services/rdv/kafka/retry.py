"""Asking Kafka again: one retry loop, with its backoff policies named by what they wait for.

Kafka goes away (a restart, a coordinator moving, a topic created a moment ago); librdkafka
says which errors mean "the same call again". Every retry in the project goes through
`retry`, so a reader finds each wait and its pauses here."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from confluent_kafka import KafkaError, KafkaException

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Pauses that double from `first_s` up to `most_s`; `quiet` ones are expected (a topic
    just created) and logged at DEBUG, not as warnings."""

    first_s: float
    most_s: float = 5.0
    quiet: bool = False

    def pauses(self) -> Iterator[float]:
        pause = self.first_s
        while True:
            yield pause
            pause = min(pause * 2, self.most_s)


# A call that needs the cluster back: restoring state, the transaction coordinator, the
# group's committed offsets. Waits as long as the service runs.
KAFKA_AWAY = Backoff(0.5)
# A transactional call librdkafka marks retriable (a timeout while the broker is away).
TRANSACTION_CALL = Backoff(0.2)
# A consumer's commit while the group coordinator loads or moves.
GROUP_COMMIT = Backoff(0.2)
# A topic created a moment ago, whose leader the client has not learnt yet.
NEW_TOPIC = Backoff(0.1, 0.1, quiet=True)


def retry(
    call: Callable[[], T],
    policy: Backoff,
    retriable: Callable[[Exception], bool],
    give_up: Callable[[], bool] = lambda: False,
    what: str = "a Kafka call",
    wait: Callable[[float], object] = time.sleep,
) -> T:
    """`call()` until it returns, pausing by `policy` after each failure `retriable` accepts;
    re-raises any other failure, and a retriable one once `give_up()` says so."""
    pauses = policy.pauses()
    while True:
        try:
            return call()
        except Exception as exc:
            if not retriable(exc) or give_up():
                raise
            level = logging.DEBUG if policy.quiet else logging.WARNING
            log.log(level, "%s failed for now (%s); retrying", what, exc)
            wait(next(pauses))


def fatal_error(exc: BaseException) -> KafkaError | None:
    """The error of a KafkaException after which its client can do nothing more."""
    error = exc.args[0] if isinstance(exc, KafkaException) and exc.args else None
    return error if isinstance(error, KafkaError) and error.fatal() else None


def patiently(
    call: Callable[[], T],
    what: str,
    stopping: threading.Event,
    errors: tuple[type[Exception], ...],
) -> T:
    """`call()` until it stops raising `errors`, by the KAFKA_AWAY policy; gives up
    (re-raising) only once `stopping` is set, which also cuts a pause short. A fatal Kafka
    error is raised at once: its client would fail the same way for good (a fenced consumer
    or producer, a transaction timeout the broker refuses), and was asked again forever."""
    return retry(
        call,
        KAFKA_AWAY,
        lambda exc: isinstance(exc, errors) and fatal_error(exc) is None,
        give_up=stopping.is_set,
        what=what,
        wait=stopping.wait,
    )


def until_fatal(
    call: Callable[[], T],
    what: str,
    stopping: threading.Event,
    fatal: Callable[[KafkaError], Exception],
) -> T:
    """`patiently(call)` over Kafka errors; a fatal one is raised as `fatal(error)`, which
    says what it means to the caller's user."""
    try:
        return patiently(call, what, stopping, (KafkaException,))
    except KafkaException as exc:
        error = fatal_error(exc)
        if error is None:
            raise
        raise fatal(error) from exc


def kafka_retriable(*also: int) -> Callable[[Exception], bool]:
    """A KafkaException that librdkafka calls retriable, or whose code is one of `also`
    (errors that pass once Kafka is back, which librdkafka does not always mark)."""

    def retriable(exc: Exception) -> bool:
        error = exc.args[0] if isinstance(exc, KafkaException) and exc.args else None
        return error is not None and (bool(error.retriable()) or error.code() in also)

    return retriable


def again(call: Callable[[], object], give_up: Callable[[], bool]) -> None:
    """A transactional call until it stops failing retriably, or `give_up()`. librdkafka's
    rule: a retriable error of a transactional call means the same call again; anything else,
    even a new commit or an abort, conflicts with the one still in progress. Callers pass the
    transaction's remaining time (-1) where librdkafka recommends it: shorter timeouts risk
    desynchronising its state when a protocol request fails."""
    retry(call, TRANSACTION_CALL, kafka_retriable(), give_up, "transaction call")
