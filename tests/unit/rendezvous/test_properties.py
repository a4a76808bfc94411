"""Properties of the rule over random traffic: exactly one answer per request, never after
its deadline, never from a canary or shadow, always from the highest opened tier that had a
usable score. A tier is open from its time, or once every model of the tiers before it has
failed; the default comes at the deadline, or once every answering model has failed."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rdv.rollout.config import RolloutConfig, Tier
from tests.unit.rendezvous.sim import CONFIG, MS, T0, Sim, request, score

CONFIGS = [
    CONFIG,
    CONFIG.evolve(mode="split", split={"m@2": 0.5, "m@3": 0.5}),
    CONFIG.evolve(
        schedule=(Tier("preferred", 0), Tier("challenger", 5), Tier("fallback", 10)),
        mode="thompson",
    ),
    RolloutConfig(champion="a@1", sla_ms=30, grace_ms=0, schedule=(Tier("champion", 0),)),
]

event = st.tuples(
    st.integers(0, 150),  # request arrival, ms
    st.one_of(st.none(), st.integers(5, 80)),  # own deadline, ms after creation
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 120), st.booleans()), max_size=7),
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(range(len(CONFIGS))),
    st.lists(event, min_size=1, max_size=12),
    st.integers(0, 2**32),
)
def test_rule_properties(config_index: int, requests: list[Any], seed: int) -> None:
    config = CONFIGS[config_index]
    models = config.models()
    timeline: list[tuple[int, int, Any]] = []
    for n, (arrive, own_deadline, scores) in enumerate(requests):
        rid = f"r{n}"
        deadline_ms = (T0 + (arrive + own_deadline) * MS) // 1000 if own_deadline else None
        req = request(rid, key=f"k{n % 4}", created_us=T0 + arrive * MS, deadline_ms=deadline_ms)
        timeline.append((arrive * MS, 0, req))
        for model_index, delay, failed in scores:
            model = models[model_index % len(models)]
            s = score(rid, model, 0.5, error="x" if failed else None)
            timeline.append(((arrive + delay) * MS, 1, s))
    sim = Sim(config, seed=seed)
    arrivals: dict[str, dict[str, int]] = {}
    failures: dict[str, dict[str, int]] = {}
    opened: dict[str, int] = {}
    deadlines: dict[str, int] = {}
    for at, kind, item in sorted(timeline, key=lambda e: (e[0], e[1])):
        sim.advance(T0 + at)
        if kind == 0:
            opened[item.request_id] = sim.now
            own = item.deadline_ms * 1000 if item.deadline_ms else None
            deadlines[item.request_id] = min(sim.now + config.sla_ms * MS, own or 2**62)
            sim.request(item)
        else:
            if item.usable:
                arrivals.setdefault(item.request_id, {}).setdefault(item.model, sim.now)
            else:
                failures.setdefault(item.request_id, {}).setdefault(item.model, sim.now)
            sim.score(item)
    sim.advance(T0 + 10_000 * MS)

    ids = [f"r{n}" for n in range(len(requests))]
    assert sorted(a.request_id for a in sim.answers) == sorted(ids)  # exactly once
    assert sorted(r["request_id"] for r in sim.records) == sorted(ids)
    for answer in sim.answers:
        rid = answer.request_id
        assert answer.answered_at <= deadlines[rid]
        assert answer.model is None or answer.model in config.answering()
        [record] = [r for r in sim.records if r["request_id"] == rid]
        check_tiers(
            config,
            answer,
            record["preferred"],
            opened[rid],
            deadlines[rid],
            arrivals.get(rid, {}),
            failures.get(rid, {}),
        )


def check_tiers(
    config: RolloutConfig,
    answer: dict[str, Any],
    preferred: str,
    opened: int,
    deadline: int,
    arrivals: dict[str, int],
    failures: dict[str, int],
) -> None:
    """The answer came from the highest open tier with a usable score, else the default."""
    at = answer.answered_at
    elapsed_ms = (at - opened) / MS
    # Timers fire before events of the same instant, so a score that arrives exactly when a
    # tier opens or the deadline falls counts only for answers after it.
    before = {m for m, t in arrivals.items() if t < at}
    by_then = {m for m, t in arrivals.items() if t <= at}
    # Failed by then, and not made good by a usable score before the answer.
    failed = {m for m, t in failures.items() if t <= at and m not in before}
    exhausted = True
    for tier in config.schedule:  # every opened tier above the chosen one had nothing
        models = config.tier_models(tier.use, preferred)
        if tier.after_ms <= elapsed_ms or exhausted:
            if answer.model in models and answer.model in by_then:
                return
            assert not before.intersection(models), (tier, answer)
        exhausted = exhausted and set(models) <= failed
    assert answer.reason == "default"
    assert at == deadline or exhausted, (answer, failed)
