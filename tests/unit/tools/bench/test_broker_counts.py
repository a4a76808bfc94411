import os

import pytest

from rdv_tools.bench.broker_counts import (
    BrokerCountsError,
    ServedPerRequest,
    is_jvm,
    parse_counts,
)


def test_counts_are_read_from_the_helpers_line() -> None:
    assert parse_counts("request.Produce=12 topics.MessagesInPerSec=30") == {
        "request.Produce": 12,
        "topics.MessagesInPerSec": 30,
    }
    assert parse_counts("") == {}


def test_an_unreadable_count_is_an_error_not_a_zero() -> None:
    with pytest.raises(BrokerCountsError, match=r"unreadable: 'request\.Produce=x'"):
        parse_counts("request.Produce=x")


def test_served_per_request_is_the_difference_over_the_answers() -> None:
    before = {"request.Produce": 100, "request.Fetch": 50, "request.Heartbeat": 7}
    after = {
        "request.Produce": 400,
        "request.Fetch": 350,
        # Subsets of "Fetch": not counted twice.
        "request.FetchConsumer": 300,
        "request.FetchFollower": 0,
        "request.Heartbeat": 17,
        "request.EndTxn": 20,  # new since the start
        "topics.MessagesInPerSec": 1_000,
        "topics.BytesInPerSec": 25_000,
        "topics.BytesOutPerSec": 40_000,
    }
    served = ServedPerRequest.of(before, after, answered=100)
    assert (served.produce, served.fetch, served.other) == (3.0, 3.0, 0.3)
    assert served.requests == pytest.approx(6.3)
    assert (served.messages_in, served.bytes_in, served.bytes_out) == (10.0, 250.0, 400.0)
    assert served.by_request == {"EndTxn": 0.2, "Fetch": 3.0, "Heartbeat": 0.1, "Produce": 3.0}


def test_no_answers_does_not_divide_by_zero() -> None:
    served = ServedPerRequest.of({}, {"request.Produce": 5}, answered=0)
    assert served.produce == 5.0


def test_this_python_is_not_a_jvm() -> None:
    # The attach API signals its target: only a JVM may be asked.
    assert not is_jvm(os.getpid())
    assert not is_jvm(2**22 + 1)  # no such process
