"""When a chaos run's stack counts as settled: in its steady state, as a running one would be."""

from __future__ import annotations

from rdv_tools.bench.settling import JIT_SETTLED_SHARE, window_settled


def test_a_window_that_sent_nothing_is_not_settled() -> None:
    # The request list was an iterator, spent by the first window: every later window sent
    # nothing, counted as all inside the SLA, and every stack "settled" in 2-4 s.
    assert not window_settled(sent=0, on_time=0, jit_share=0.0)


def test_every_answer_inside_the_sla_and_a_quiet_jit_is_settled() -> None:
    assert window_settled(sent=100, on_time=100, jit_share=0.0)


def test_one_late_answer_or_a_compiling_broker_is_not_settled() -> None:
    assert not window_settled(sent=100, on_time=99, jit_share=0.0)
    # A clean window came by chance while the broker still compiled (13-86% of a core).
    assert not window_settled(sent=100, on_time=100, jit_share=JIT_SETTLED_SHARE)
