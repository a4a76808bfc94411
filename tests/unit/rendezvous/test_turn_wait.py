"""How long a turn of the rendezvous's loop waits for messages before its next timer."""

from __future__ import annotations

from rdv.rendezvous.turns import HOLDING_WAIT_S, MAX_WAIT_S, turn_wait


def test_no_timer_waits_the_longest() -> None:
    assert turn_wait(None, 1_000_000) == MAX_WAIT_S


def test_a_timer_under_a_millisecond_away_waits_a_whole_millisecond() -> None:
    # librdkafka drops the fraction of a millisecond: 0.4 ms would be a poll that returns at
    # once, and the loop would spin until the timer is due.
    assert turn_wait(1_000_400, 1_000_000) == 0.001
    assert turn_wait(1_002_001, 1_000_000) == 0.003


def test_a_due_timer_does_not_wait_and_a_far_one_waits_the_longest() -> None:
    assert turn_wait(999_000, 1_000_000) == 0.0
    assert turn_wait(1_000_000, 1_000_000) == 0.0
    assert turn_wait(5_000_000, 1_000_000) == MAX_WAIT_S


def test_held_output_is_looked_at_again_within_a_millisecond() -> None:
    # Output refused while a commit was in flight goes out on the first turn after the commit
    # ends; the writer's thread does not wake the loop, so the loop must not sleep long.
    assert turn_wait(None, 1_000_000, holding=True) == HOLDING_WAIT_S
    assert turn_wait(5_000_000, 1_000_000, holding=True) == HOLDING_WAIT_S
    assert turn_wait(999_000, 1_000_000, holding=True) == 0.0
