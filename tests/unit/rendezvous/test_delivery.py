"""When a fatal producer error is mended with a new producer, and when it stops the service."""

from __future__ import annotations

import pytest

from rdv.errors import RendezvousError
from rdv.kafka import TransactionFailure
from rdv.rendezvous.delivery import FATAL_LIMIT, FATAL_WINDOW_S, check_fatal


def fatal(fenced: bool = False) -> TransactionFailure:
    return TransactionFailure("test", fatal=True, fenced=fenced)


def test_a_fatal_error_now_and_then_is_mended() -> None:
    fatal_at: list[float] = []
    for i in range(FATAL_LIMIT):
        check_fatal(fatal(), "a", fatal_at, now=i)
    assert len(fatal_at) == FATAL_LIMIT


def test_fatal_errors_back_to_back_stop_the_service() -> None:
    fatal_at: list[float] = []
    for i in range(FATAL_LIMIT):
        check_fatal(fatal(), "a", fatal_at, now=i)
    with pytest.raises(RendezvousError, match="failed for good 4 times in 300 s"):
        check_fatal(fatal(), "a", fatal_at, now=10)


def test_old_fatal_errors_are_forgotten() -> None:
    fatal_at: list[float] = []
    for i in range(FATAL_LIMIT):
        check_fatal(fatal(), "a", fatal_at, now=i)
    later = FATAL_LIMIT + FATAL_WINDOW_S
    check_fatal(fatal(), "a", fatal_at, now=later)
    assert fatal_at == [later]


def test_a_fenced_producer_names_the_instance_and_the_setting() -> None:
    with pytest.raises(RendezvousError, match=r"instance 'rv-1'.*RDV_RENDEZVOUS_INSTANCE"):
        check_fatal(fatal(fenced=True), "rv-1", [], now=0)
