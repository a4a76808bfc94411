"""A model that has scored nothing for several SLAs while requests waited for it (dead,
stopped, restarting) no longer holds answers back: the next tier answers as soon as it can,
inside the client's SLA instead of at its tier's opening."""

from __future__ import annotations

from dataclasses import replace

from rdv.rendezvous.mailbox import RequestIn
from tests.unit.rendezvous.sim import MS, T0, Sim, request, score


def at(ms: float) -> int:
    return T0 + int(ms * MS)


def test_a_silent_champion_lets_the_fallback_answer_at_once() -> None:
    sim = Sim(absent_after_slas=2).at(0).request(request("r1"))
    sim.at(2).score(score("r1", "fast@1", 0.1)).at(35)
    assert sim.answer_of("r1").reason == "fallback"  # at its tier: the champion was not silent long
    assert sim.answer_of("r1").answered_at == at(35)

    sim.at(120).request(request("r2", created_us=at(120))).at(121)
    sim.score(score("r2", "fast@1", 0.2))
    answer = sim.answer_of("r2")  # asked for 120 ms, more than two SLAs: absent
    assert (answer.model, answer.reason) == ("fast@1", "fallback")
    assert answer.answered_at == at(121)


def test_the_champion_is_waited_for_again_once_it_scores() -> None:
    sim = Sim(absent_after_slas=2).at(0).request(request("r1"))
    sim.at(2).score(score("r1", "fast@1", 0.1)).at(120)
    sim.request(request("r2", created_us=at(120)))
    sim.at(121).score(score("r1", "m@2", 0.9))  # back: a late score for an old request
    sim.score(score("r2", "fast@1", 0.1)).at(122)
    assert [a.request_id for a in sim.answers if a.request_id == "r2"] == []
    sim.at(125).score(score("r2", "m@2", 0.8))
    assert (sim.answer_of("r2").model, sim.answer_of("r2").reason) == ("m@2", "preferred")


def test_quiet_traffic_is_not_absence() -> None:
    sim = Sim(absent_after_slas=2).at(0).request(request("r1"))
    sim.at(5).score(score("r1", "m@2", 0.9))
    later = 10_000  # ten seconds with no request: nobody was asked, nobody is absent
    sim.at(later).request(request("r2", created_us=at(later)))
    sim.at(later + 1).score(score("r2", "fast@1", 0.1))
    assert [a for a in sim.answers if a.request_id == "r2"] == []
    sim.at(later + 6).score(score("r2", "m@2", 0.7))
    assert sim.answer_of("r2").model == "m@2"


def test_when_every_model_is_absent_the_default_answers_at_once() -> None:
    sim = Sim(absent_after_slas=2).at(0).request(request("r1")).at(50)
    sim.at(120).request(request("r2", created_us=at(120)))  # r1 has waited 120 ms, still open
    answer = sim.answer_of("r2")
    assert (answer.reason, answer.answered_at) == ("default", at(120))


def test_a_request_that_waited_alone_long_ago_makes_nobody_absent_now() -> None:
    sim = Sim(absent_after_slas=2).at(0).request(request("r1")).at(500)  # r1 closed at 145
    sim.request(request("r2", created_us=at(500))).at(501).score(score("r2", "fast@1", 0.1))
    assert [a for a in sim.answers if a.request_id == "r2"] == []
    assert sim.at(535).answer_of("r2").answered_at == at(535)  # at the fallback's tier


def test_off_unless_asked_for() -> None:
    sim = Sim().at(0).request(request("r1")).at(200)
    sim.request(request("r2", created_us=at(200))).at(201).score(score("r2", "fast@1", 0.1))
    assert [a for a in sim.answers if a.request_id == "r2"] == []
    sim.at(235)
    assert sim.answer_of("r2").answered_at == at(235)


def test_a_dead_replica_is_absent_on_its_partitions_while_its_twin_scores_others() -> None:
    def on(partition: int, rid: str, ms: float) -> RequestIn:
        return RequestIn(rid, rid, at(ms) // 1000, None, None, partition, 0)

    sim = Sim(absent_after_slas=2).at(0).request(on(0, "a1", 0)).request(on(1, "b1", 0))
    sim.at(2).score(replace(score("a1", "fast@1"), partition=0))
    sim.score(replace(score("b1", "fast@1"), partition=1))
    for ms in range(10, 120, 10):  # the replica serving partition 1 keeps scoring
        sim.at(ms).request(on(1, f"b{ms}", ms))
        sim.at(ms + 3).score(replace(score(f"b{ms}", "m@2"), partition=1))
    sim.at(120).request(on(0, "a2", 120)).request(on(1, "b2", 120))
    sim.at(121).score(replace(score("a2", "fast@1"), partition=0))
    sim.score(replace(score("b2", "fast@1"), partition=1))
    assert sim.answer_of("a2").answered_at == at(121)  # partition 0's champion is silent
    assert [a for a in sim.answers if a.request_id == "b2"] == []  # partition 1's is not


def test_a_score_that_came_before_its_request_counts_as_heard() -> None:
    # Workers often outrun the rendezvous's reading of `requests`: the score waits as an
    # orphan until its request opens. That is a model heard from, not one asked and silent.
    sim = Sim(absent_after_slas=2).at(0).score(score("r1", "m@2", 0.9))
    sim.at(1).request(request("r1", created_us=at(1)))
    assert sim.answer_of("r1").reason == "preferred"
    sim.at(120).request(request("r2", created_us=at(120)))  # r1 is still open (grace)
    sim.at(121).score(score("r2", "fast@1", 0.1))
    assert [a for a in sim.answers if a.request_id == "r2"] == []
    sim.at(125).score(score("r2", "m@2", 0.8))
    assert sim.answer_of("r2").reason == "preferred"
