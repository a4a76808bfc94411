"""The rendezvous rule with a fake clock."""

from __future__ import annotations

import random

import pytest

from rdv.messages import Answer
from rdv.rendezvous.core import DecisionCore
from rdv.rollout.config import Tier
from tests.unit.rendezvous.sim import CONFIG, MS, T0, Sim, request, score


def test_preferred_answers_as_soon_as_it_arrives() -> None:
    sim = Sim().at(0).request(request("r")).at(4).score(score("r", "m@2", 0.9, label="bot"))
    answer = sim.answer_of("r")
    assert (answer.model, answer.role, answer.reason) == ("m@2", "champion", "preferred")
    assert (answer.score, answer.label, answer.late) == (0.9, "bot", False)
    assert answer.latency_us == 4 * MS and answer.config_version == 7


def test_a_fallback_that_arrived_early_waits_for_its_tier_to_open() -> None:
    sim = Sim().at(0).request(request("r")).at(2).score(score("r", "fast@1", 0.1))
    assert sim.answers == []
    sim.at(34.9)
    assert sim.answers == []
    sim.at(35)
    answer = sim.answer_of("r")
    assert (answer.model, answer.reason, answer.role) == ("fast@1", "fallback", "fallback")
    assert answer.answered_at == T0 + 35 * MS


def test_the_highest_opened_tier_wins_when_several_have_arrived() -> None:
    sim = Sim().at(0).request(request("r"))
    sim.at(1).score(score("r", "fast@1", 0.1)).at(3).score(score("r", "m@3", 0.3))
    sim.at(40)  # fallback opened at 35, but the challenger is not in any opened tier
    assert sim.answer_of("r").model == "fast@1"

    split = CONFIG.evolve(mode="split", split={"m@3": 1.0})
    sim = Sim(split).at(0).request(request("s"))
    sim.at(1).score(score("s", "fast@1", 0.1)).at(2).score(score("s", "m@2", 0.2))
    assert sim.answers == []  # preferred is m@3 under this split; champion opens at 20
    sim.at(10).score(score("s", "m@3", 0.3))
    assert (sim.answer_of("s").model, sim.answer_of("s").reason) == ("m@3", "preferred")


def test_nothing_usable_by_the_sla_gives_the_default() -> None:
    sim = Sim().at(0).request(request("r")).at(1).score(score("r", "m@2", error="boom"))
    sim.at(49.99)
    assert sim.answers == []  # the fallback may still come
    sim.at(50)
    answer = sim.answer_of("r")
    assert (answer.model, answer.role, answer.reason) == (None, "default", "default")
    assert (answer.score, answer.label) == (0.0, "unknown")
    assert answer.answered_at == T0 + 50 * MS


def test_a_sooner_request_deadline_overrides_the_sla() -> None:
    deadline_ms = (T0 + 30 * MS) // 1000
    sim = Sim().at(0).request(request("r", deadline_ms=deadline_ms)).at(30)
    assert sim.answer_of("r").reason == "default"
    assert sim.answer_of("r").answered_at == T0 + 30 * MS


def test_canary_and_shadow_never_answer() -> None:
    sim = Sim().at(0).request(request("r"))
    sim.at(1).score(score("r", "m@1", 0.5)).score(score("r", "m@4", 0.5)).at(50)
    assert sim.answer_of("r").reason == "default"


def test_duplicates_are_ignored() -> None:
    sim = Sim().at(0).request(request("r")).request(request("r"))
    sim.at(1).score(score("r", "m@2", 0.4)).score(score("r", "m@2", 0.9)).at(500)
    assert len(sim.answers) == 1 and len(sim.records) == 1
    [candidate] = [c for c in sim.records[0]["candidates"] if c["model"] == "m@2"]
    assert candidate["score"] == 0.4


def test_the_record_collects_late_scores_deltas_and_missing_models() -> None:
    sim = Sim().at(0).request(request("r"))
    sim.at(2).score(score("r", "m@2", 0.6)).at(5).score(score("r", "m@1", 0.5))
    sim.at(80).score(score("r", "m@3", 0.9, label="bot"))  # after the answer, inside grace
    assert sim.records == []
    sim.at(150)  # deadline 50 + grace 100
    [record] = sim.records
    assert record["answer"]["model"] == "m@2"
    by_model = {c["model"]: c for c in record["candidates"]}
    assert by_model["m@3"]["on_time"] is False and by_model["m@2"]["on_time"] is True
    assert by_model["m@3"]["arrival_latency_us"] == 80 * MS
    assert by_model["m@1"]["role"] == "canary"
    assert record["delta_champion"] == pytest.approx({"m@2": 0.0, "m@1": -0.1, "m@3": 0.3})
    assert record["delta_canary"] == pytest.approx({"m@2": 0.1, "m@1": 0.0, "m@3": 0.4})
    assert sorted(record["missing"]) == ["fast@1", "m@4"]


def test_the_record_is_written_early_once_every_model_reported() -> None:
    sim = Sim().at(0).request(request("r")).at(3)
    for model in CONFIG.models():
        sim.score(score("r", model, 0.5))
    assert len(sim.records) == 1 and sim.records[0]["missing"] == []


def test_a_score_that_outruns_its_request_is_kept_for_it() -> None:
    sim = Sim().at(0).score(score("r", "m@2", 0.7)).at(1).request(request("r"))
    assert sim.answer_of("r").score == 0.7


def test_a_request_recovered_after_an_outage_is_answered_late() -> None:
    sim = Sim().at(60_000).request(request("r", created_us=T0))
    sim.at(60_003).score(score("r", "m@2", 0.2))
    answer = sim.answer_of("r")
    assert (answer.reason, answer.late, answer.model) == ("late", True, "m@2")


def test_a_restored_mailbox_records_but_never_answers_again() -> None:
    sim = Sim().at(0)
    previous = Answer("r", "r", "m@2", "champion", "preferred", 0.9, "bot", None, 0, 1, 1, False, 7)
    sim._take(sim.core.restore(request("r"), previous, sim.now))
    sim.at(2).score(score("r", "m@2", 0.2)).at(500)
    assert sim.answers == []
    assert sim.records[0]["answer"] == previous.to_avro()


def test_a_new_config_applies_to_new_requests_only() -> None:
    sim = Sim().at(0).request(request("old"))
    sim.core.on_config(CONFIG.evolve(champion="m@3", challengers=("m@2",), version=8))
    sim.request(request("new")).at(1)
    for rid in ("old", "new"):
        sim.score(score(rid, "m@2", 0.2)).score(score(rid, "m@3", 0.3))
    assert sim.answer_of("old").model == "m@2" and sim.answer_of("old").config_version == 7
    assert sim.answer_of("new").model == "m@3" and sim.answer_of("new").config_version == 8


def test_a_pinned_tier_answers_with_its_model() -> None:
    config = CONFIG.evolve(schedule=(Tier("m@3", 0), Tier("champion", 10)))
    sim = Sim(config).at(0).request(request("r")).at(1).score(score("r", "m@3", 0.3))
    assert (sim.answer_of("r").model, sim.answer_of("r").reason) == ("m@3", "pinned")
    assert sim.answer_of("r").role == "challenger"


def test_the_sla_runs_from_the_request_s_creation_not_its_arrival() -> None:
    # Read 30 ms after it was created: the fallback tier (35 ms) opens 5 ms later, and the
    # default comes at the client's 50 ms, not 50 ms after the rendezvous saw it.
    sim = Sim().at(30).request(request("r", created_us=T0)).at(31).score(score("r", "fast@1"))
    sim.at(34.9)
    assert sim.answers == []
    sim.at(35)
    assert sim.answer_of("r").reason == "fallback"

    sim = Sim().at(30).request(request("s", created_us=T0)).at(50)
    answer = sim.answer_of("s")
    assert (answer.reason, answer.answered_at) == ("default", T0 + 50 * MS)


def test_the_default_leaves_a_margin_for_the_answer_to_reach_its_client() -> None:
    sim = Sim()
    sim.core = DecisionCore(CONFIG, random.Random(0), margin_ms=5)
    sim.at(0).request(request("r")).at(44.9)
    assert sim.answers == []
    sim.at(45)
    assert sim.answer_of("r").answered_at == T0 + 45 * MS


def test_a_creation_time_ahead_of_the_clock_counts_as_now() -> None:
    sim = Sim().at(0).request(request("r", created_us=T0 + 500 * MS)).at(49.9)
    assert sim.answers == []
    assert sim.at(50).answer_of("r").reason == "default"


def test_a_request_read_past_its_deadline_gets_the_default_at_once_unless_a_score_is_in() -> None:
    sim = Sim().at(0).score(score("a", "m@2", 0.7)).at(60)
    sim.request(request("a", created_us=T0)).request(request("b", created_us=T0))
    assert sim.answer_of("a").model == "m@2"
    assert sim.answer_of("b").reason == "default"
    assert sim.answer_of("b").answered_at == T0 + 60 * MS


def test_once_the_champion_failed_the_fallback_answers_without_waiting_for_its_tier() -> None:
    sim = Sim().at(0).request(request("r")).at(2).score(score("r", "fast@1", 0.1))
    sim.at(4).score(score("r", "m@2", error="invalid_feature: country"))
    answer = sim.answer_of("r")
    assert (answer.model, answer.reason, answer.answered_at) == (
        "fast@1",
        "fallback",
        T0 + 4 * MS,
    )


def test_once_every_answering_model_failed_the_default_comes_at_once() -> None:
    sim = Sim().at(0).request(request("r")).at(1).score(score("r", "m@2", error="boom"))
    sim.at(3).score(score("r", "fast@1", error="nope"))
    answer = sim.answer_of("r")
    assert (answer.reason, answer.answered_at) == ("default", T0 + 3 * MS)
