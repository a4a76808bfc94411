"""Traffic modes and feedback."""

from __future__ import annotations

import dataclasses
import gc
import random
from collections import Counter

from rdv.rendezvous.core import DecisionCore
from rdv.rendezvous.traffic import Posteriors, preferred_model
from tests.unit.rendezvous.sim import CONFIG, T0, Sim, request, score


def test_split_is_sticky_by_key_and_follows_the_weights() -> None:
    config = CONFIG.evolve(mode="split", split={"m@2": 0.8, "m@3": 0.2})
    rng = random.Random(0)
    first = {
        f"user-{i}": preferred_model(config, f"user-{i}", Posteriors(), rng) for i in range(5000)
    }
    again = {k: preferred_model(config, k, Posteriors(), rng) for k in first}
    assert first == again
    share = Counter(first.values())["m@3"] / len(first)
    assert 0.18 < share < 0.22


def test_fixed_and_shadow_modes_prefer_the_champion() -> None:
    for mode in ("fixed", "shadow"):
        config = CONFIG.evolve(mode=mode)
        assert preferred_model(config, "k", Posteriors(), random.Random(1)) == "m@2"


def test_thompson_learns_from_rewards_to_prefer_the_better_model() -> None:
    config = CONFIG.evolve(mode="thompson")
    posteriors = Posteriors()
    for _ in range(200):
        posteriors.update("m@2", 0.0)
        posteriors.update("m@3", 1.0)
    rng = random.Random(3)
    picks = Counter(preferred_model(config, f"k{i}", posteriors, rng) for i in range(500))
    assert picks["m@3"] > 480
    assert posteriors.mean("m@3") > 0.99
    assert posteriors.mean("m@2") < 0.01


def test_feedback_joins_the_recorded_scores() -> None:
    sim = Sim().at(0).request(request("r"))
    sim.at(1).score(score("r", "m@2", 0.8, label="bot")).score(
        score("r", "m@3", 0.1, label="human")
    )
    sim.at(500)
    outcomes = {q.model: q for q in sim.core.on_feedback("r", "bot", 1.0, None)}
    assert outcomes["m@2"].correct is True and outcomes["m@2"].answered is True
    assert outcomes["m@3"].correct is False and outcomes["m@3"].answered is False
    assert outcomes["m@3"].log_loss > outcomes["m@2"].log_loss > 0
    assert sim.core.posteriors.alpha["m@2"] == 2.0  # label matched the answer: reward 1
    assert sim.core.on_feedback("unknown", "bot", None, None) == []


def test_feedback_memory_is_bounded_and_forgets_the_oldest_first() -> None:
    # RDV_RENDEZVOUS_MEMORY: the soak showed the rendezvous's memory grow until this bound.
    sim = Sim()
    sim.core = DecisionCore(CONFIG, memory=3)  # what RendezvousServiceSettings(memory=3) builds
    for i in range(5):
        sim.at(i * 1000).request(request(f"r{i}"))
        sim.at(i * 1000 + 1).score(score(f"r{i}", "m@2", 0.8, label="bot"))
        sim.score(score(f"r{i}", "m@3", 0.1, label="human"))
    sim.at(10_000)
    assert len(sim.records) == 5
    assert list(sim.core.closed) == ["r2", "r3", "r4"]
    assert sim.core.on_feedback("r0", "bot", 1.0, None) == []  # forgotten
    assert sim.core.on_feedback("r4", "bot", 1.0, None) != []


def test_evidence_is_kept_by_partition_and_moves_with_it() -> None:
    # An instance that takes partitions over restores their evidence from the state
    # changelog; what it draws from is the sum over the partitions it owns.
    learned = Posteriors()
    learned.update("m@3", 1.0, partition=0)
    learned.update("m@3", 1.0, partition=1)
    learned.update("m@2", 0.0, partition=1)
    changed = learned.take_changed()
    assert changed == {0: {"m@3": [1.0, 0.0]}, 1: {"m@3": [1.0, 0.0], "m@2": [0.0, 1.0]}}
    assert learned.take_changed() == {}  # written once

    only_one = Posteriors()
    only_one.restore(1, changed[1])
    assert only_one.alpha["m@3"] == 2.0 and only_one.beta["m@2"] == 2.0
    both = Posteriors()
    for partition, evidence in changed.items():
        both.restore(partition, evidence)
    assert both.mean("m@3") == learned.mean("m@3") and both.mean("m@2") == learned.mean("m@2")
    assert both.take_changed() == {}  # restored evidence is in the changelog already


def test_feedback_counts_as_evidence_of_the_requests_partition() -> None:
    sim = Sim().at(0).request(dataclasses.replace(request("r"), partition=2))
    sim.at(1).score(score("r", "m@2", 0.8, label="bot"))
    sim.at(500)
    sim.core.on_feedback("r", "bot", None, None)
    assert sim.core.posteriors.take_changed() == {2: {"m@2": [1.0, 0.0]}}


def test_the_memory_of_closed_requests_is_left_out_of_full_collections() -> None:
    # 100,000 closed requests as objects made each of the rendezvous's full collections
    # traverse them all: 30-60 ms of CPU under load, answers held behind it. What it keeps
    # per request is tuples of atoms, which CPython's collector stops tracking as it meets
    # them (the outer one once its parts are: a second pass where it met the outer first).
    sim = Sim()
    for i in range(3):
        sim.at(i * 1000).request(request(f"r{i}", created_us=T0 + i * 1000 * 1000))
        sim.at(i * 1000 + 1).score(score(f"r{i}", "m@2", 0.8, label="bot"))
        sim.score(score(f"r{i}", "m@3", 0.1, label="human"))
    sim.at(10_000)
    assert len(sim.core.closed) == 3
    gc.collect()
    gc.collect()
    for entry in sim.core.closed.values():
        assert not gc.is_tracked(entry)
        assert not any(gc.is_tracked(part) for part in entry)
    # and feedback still joins what was kept
    outcomes = {q.model: q for q in sim.core.on_feedback("r1", "bot", 1.0, None)}
    assert outcomes["m@2"].answered is True and outcomes["m@2"].correct is True
    assert outcomes["m@3"].answered is False and outcomes["m@3"].correct is False
