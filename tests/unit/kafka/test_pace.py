"""When a producer counts as busy enough to linger: a rate over windows, not a guess."""

from __future__ import annotations

import pytest

from rdv.kafka.pace import SendPace


def sends(pace: SendPace, per_s: float, seconds: float, start: float = 100.0) -> list[bool]:
    count = int(per_s * seconds)
    return [pace.send(start + i / per_s) for i in range(count)]


def test_a_producer_below_the_rate_never_lingers() -> None:
    assert not any(sends(SendPace(busy_per_s=500), per_s=300, seconds=2))


def test_a_producer_above_the_rate_lingers_within_one_window() -> None:
    busy = sends(SendPace(busy_per_s=500, window_s=0.05), per_s=1_000, seconds=2)
    first = busy.index(True)
    assert first <= 26  # the 26th send of its first window is over 500/s
    assert all(busy[first:])


def test_a_burst_lingers_from_the_send_over_the_limit() -> None:
    pace = SendPace(busy_per_s=500, window_s=0.05)  # 25 a window
    burst = [pace.send(100.0) for _ in range(40)]
    assert burst == [False] * 25 + [True] * 15


def test_after_a_busy_window_the_next_stays_busy_then_a_quiet_one_ends_it() -> None:
    pace = SendPace(busy_per_s=500, window_s=0.05)
    for _ in range(30):
        pace.send(100.0)
    assert pace.send(100.06)  # the window before held 30
    assert not pace.send(100.2)  # a window with no send between: no longer busy


@pytest.mark.parametrize(("busy_per_s", "window_s"), [(0, 0.05), (500, 0)])
def test_a_rate_or_window_of_zero_is_refused(busy_per_s: float, window_s: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        SendPace(busy_per_s, window_s)
