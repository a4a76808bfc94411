"""When a due commit begins: after what was sent is delivered, or after a bounded wait."""

from __future__ import annotations

from rdv.kafka.writers import DRAIN_S, Drain


def test_nothing_in_flight_commits_at_once() -> None:
    assert Drain().ready(in_flight=0, now=10.0)


def test_records_in_flight_put_the_commit_off_until_delivered() -> None:
    drain = Drain()
    assert not drain.ready(in_flight=3, now=10.0)
    assert not drain.ready(in_flight=1, now=10.002)
    assert drain.ready(in_flight=0, now=10.004)


def test_the_wait_is_bounded_when_records_never_stop_flowing() -> None:
    drain = Drain()
    assert not drain.ready(in_flight=5, now=10.0)
    assert not drain.ready(in_flight=5, now=10.0 + DRAIN_S / 2)
    assert drain.ready(in_flight=5, now=10.0 + DRAIN_S)


def test_each_commit_waits_afresh() -> None:
    drain = Drain()
    assert not drain.ready(in_flight=5, now=10.0)
    assert drain.ready(in_flight=5, now=10.0 + DRAIN_S)
    # The next commit, a second later, is not let through by the last one's wait.
    assert not drain.ready(in_flight=5, now=11.0)
    assert drain.ready(in_flight=0, now=11.001)
