"""How `rdv bench chaos` counts what a user checks: answered, exactly once, lost, duplicated,
and the SLA outside Kafka's downtime."""

from __future__ import annotations

from typing import Any

from rdv_tools.bench.chaos_score import score

FAULT = "test"


def answer(
    rid: str, reason: str = "preferred", late: bool = False, ms: int = 10, partition: int = 0
) -> dict[str, Any]:
    """An answer decided `ms` after its request's creation."""
    created_ms = 1_700_000_000_000
    return {
        "request_id": rid,
        "reason": reason,
        "late": late,
        "request_created_at": created_ms,
        "answered_at": (created_ms + ms) * 1000,
        "latency_us": 0,  # from the rendezvous's read: no part of the SLA's clock
        "partition": partition,
    }


def test_lost_and_repeated_requests_are_counted_and_the_repeats_shown() -> None:
    sent = {"a": 1.0, "b": 2.0, "c": 3.0}
    answers = [answer("a"), answer("b", "fallback"), answer("b", "late", late=True)]
    result = score("s", FAULT, sent, answers, [], 50, 1.0)
    assert (result.sent, result.answered, result.exactly_once) == (3, 2, 1)
    assert (result.lost, result.duplicated) == (1, 1)
    assert result.repeats == {"b": ["fallback", "late (late)"]}
    assert result.reasons == {"preferred": 1, "fallback": 1}  # the first answer of each


def test_the_sla_runs_from_the_requests_creation_not_the_rendezvous_read() -> None:
    # Seen in a rolling upgrade: the new rendezvous read a second's backlog and decided each
    # request at once (latency_us 0); those answers counted as inside the SLA.
    sent = {"fresh": 100.0, "backlog": 101.0}
    answers = [answer("fresh", ms=10), answer("backlog", ms=1200)]
    assert score("s", FAULT, sent, answers, [], 50, 1.0).sla_met == 0.5


def test_requests_sent_while_kafka_was_down_are_left_out_of_the_sla_share() -> None:
    sent = {"before": 100.0, "during": 105.0, "after": 120.0}
    answers = [answer("before"), answer("during", ms=9000, late=True), answer("after", ms=80)]
    result = score("s", FAULT, sent, answers, [(104.0, 110.0)], 50, 1.0)
    assert result.sla_met == 0.5  # "before" inside, "after" outside; "during" not judged
    assert result.late == 1


def test_the_client_s_sla_share_times_each_request_from_its_send_to_its_first_answer() -> None:
    sent = {"quick": 100.0, "slow": 101.0, "never": 102.0, "down": 105.0}
    received = {"quick": 100.020, "slow": 101.080, "down": 109.0}
    answers = [answer(rid) for rid in sent]  # the rendezvous's own clock says all in time
    result = score("s", FAULT, sent, answers, [(104.0, 106.0)], 50, 1.0, received)
    assert result.sla_met == 1.0
    # "down" is not judged (Kafka was down); of the others only "quick" was in time, and
    # "never" reached the client not at all.
    assert result.sla_met_client == 1 / 3


def test_the_client_s_sla_share_is_also_given_for_each_third_of_the_run() -> None:
    # Before the fault all in time, while it strikes one of two, after it none.
    sent = {f"r{i}": 100.0 + i for i in range(6)}
    received = {"r0": 100.01, "r1": 101.01, "r2": 102.01, "r3": 103.9, "r4": 104.9}
    result = score("s", FAULT, sent, [answer(rid) for rid in sent], [], 50, 1.0, received)
    assert result.sla_met_client_by_third == (1.0, 0.5, 0.0)
    assert result.sla_met_client == 0.5


def test_the_champion_s_share_at_the_end_is_given_per_partition() -> None:
    # Ten requests; the last fifth is r8 and r9. Partition 1 was never consumed by a live
    # champion: only the fallback answered it, which the whole fifth's share (1/2) hides.
    sent = {f"r{i}": 100.0 + i for i in range(10)}
    answers = [answer(f"r{i}", partition=i % 2) for i in range(0, 10, 2)]
    answers += [answer(f"r{i}", "fallback", partition=i % 2) for i in range(1, 10, 2)]
    answers.append(answer("r8", "default", partition=0))  # a repeat: the first answer counts
    result = score("s", FAULT, sent, answers, [], 50, 1.0)
    assert result.reasons_at_end == {"preferred": 1, "fallback": 1}
    assert result.preferred_at_end_by_partition == {0: 1.0, 1: 0.0}
