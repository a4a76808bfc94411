"""The one retry loop: what it retries, how long it pauses, when it gives up."""

from __future__ import annotations

import itertools
import threading

import pytest
from confluent_kafka import KafkaError, KafkaException

from rdv.kafka.reader import not_ready_yet
from rdv.kafka.retry import Backoff, again, patiently, retry


class Flaky:
    """Fails `times` times with `error`, then returns "done"."""

    def __init__(self, times: int, error: Exception) -> None:
        self.left, self.error, self.calls = times, error, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.left:
            self.left -= 1
            raise self.error
        return "done"


def test_pauses_double_up_to_the_most() -> None:
    assert list(itertools.islice(Backoff(0.2, 1.0).pauses(), 5)) == [0.2, 0.4, 0.8, 1.0, 1.0]


def test_a_retriable_failure_is_tried_again_after_each_pause() -> None:
    waited: list[float] = []
    call = Flaky(3, TimeoutError("away"))
    result = retry(call, Backoff(0.5), lambda e: isinstance(e, TimeoutError), wait=waited.append)
    assert (result, call.calls, waited) == ("done", 4, [0.5, 1.0, 2.0])


def test_another_failure_is_raised_at_once() -> None:
    call = Flaky(1, ValueError("bad"))
    with pytest.raises(ValueError):
        retry(call, Backoff(0.5), lambda e: isinstance(e, TimeoutError), wait=lambda _: None)
    assert call.calls == 1


def test_giving_up_re_raises_the_last_failure() -> None:
    call = Flaky(10, TimeoutError("away"))
    tries = iter(range(2))
    with pytest.raises(TimeoutError):
        retry(
            call,
            Backoff(0.1),
            lambda e: True,
            give_up=lambda: next(tries, None) is None,
            wait=lambda _: None,
        )
    assert call.calls == 3


def test_patiently_stops_retrying_once_the_service_stops() -> None:
    stopping = threading.Event()
    stopping.set()
    call = Flaky(1, ConnectionError("away"))
    with pytest.raises(ConnectionError):
        patiently(call, "state", stopping, (ConnectionError,))
    assert call.calls == 1


def test_again_retries_only_what_librdkafka_calls_retriable() -> None:
    timed_out = Flaky(1, KafkaException(KafkaError(KafkaError._TIMED_OUT, "t", retriable=True)))
    again(timed_out, give_up=lambda: False)  # one pause of 0.2 s
    assert timed_out.calls == 2
    fatal = Flaky(1, KafkaException(KafkaError(KafkaError._FENCED, "f", fatal=True)))
    with pytest.raises(KafkaException):
        again(fatal, give_up=lambda: False)
    assert fatal.calls == 1


def test_patiently_raises_a_fatal_kafka_error_at_once() -> None:
    # A fenced consumer or a refused producer fails the same way on every call: asked again
    # every 5 s for as long as the service ran.
    fenced = KafkaException(KafkaError(KafkaError.FENCED_INSTANCE_ID, "fenced", fatal=True))
    away = KafkaException(KafkaError(KafkaError._TRANSPORT, "broker down"))
    stopping = threading.Event()
    call = Flaky(1, fenced)
    with pytest.raises(KafkaException):
        patiently(call, "committed offsets", stopping, (KafkaException,))
    assert call.calls == 1
    call = Flaky(1, away)  # one pause of 0.5 s, then done
    assert patiently(call, "committed offsets", stopping, (KafkaException,)) == "done"
    assert call.calls == 2


@pytest.mark.parametrize(
    "code",
    [
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        # A broker that has not yet learnt the epoch its client already knows: a fresh topic's
        # read failed in CI with it.
        KafkaError.UNKNOWN_LEADER_EPOCH,
        KafkaError.FENCED_LEADER_EPOCH,
    ],
)
def test_a_new_topics_reader_waits_out_a_leader_not_known_yet(code: int) -> None:
    call = Flaky(2, KafkaException(KafkaError(code)))
    assert retry(call, Backoff(0.1), not_ready_yet, wait=lambda _: None) == "done"


def test_a_new_topics_reader_does_not_wait_out_a_lasting_error() -> None:
    call = Flaky(1, KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED)))
    with pytest.raises(KafkaException):
        retry(call, Backoff(0.1), not_ready_yet, wait=lambda _: None)
