"""Which workers may read gathered, and how long: the champion never; a model the schedule
returns only later (the fallback) for half the time until its tier opens; a model only
recorded for half the time before its mailbox closes."""

from __future__ import annotations

from rdv.rollout.config import RolloutConfig, Tier
from rdv.worker.gathering import fetch_overrides, gather_wait_ms

CONFIG = RolloutConfig(
    champion="m@1",
    challengers=("m@2", "m@3"),
    shadow=("m@3",),
    canary="m@0",
    fallback="f@1",
    sla_ms=50,
    grace_ms=200,
    schedule=(Tier("preferred", 0), Tier("champion", 20), Tier("fallback", 35)),
)


def gathers(config: RolloutConfig | None, models: list[str], gather_ms: int = 120) -> bool:
    return gather_wait_ms(config, models, gather_ms) > 0


def test_a_shadow_and_the_canary_gather_and_the_champion_does_not() -> None:
    assert gathers(CONFIG, ["m@3"]) and gathers(CONFIG, ["m@0"])
    assert not gathers(CONFIG, ["m@1"])


def test_the_fallback_gathers_for_half_the_time_until_its_tier_opens() -> None:
    # Its score is returned from 35 ms on (sooner only if the champion has nothing usable).
    assert gather_wait_ms(CONFIG, ["f@1"], 120) == 17
    first = (Tier("fallback", 0), Tier("preferred", 0))
    assert gather_wait_ms(CONFIG.evolve(schedule=first), ["f@1"], 120) == 0


def test_a_challenger_reads_at_once_where_traffic_may_prefer_it() -> None:
    # Fixed traffic with no challenger tier only records m@2; a split or Thompson sampling
    # may prefer it for any request.
    assert gathers(CONFIG, ["m@2"])
    assert not gathers(CONFIG.evolve(mode="split", split={"m@1": 0.8, "m@2": 0.2}), ["m@2"])
    assert not gathers(CONFIG.evolve(mode="thompson"), ["m@2"])
    assert gathers(CONFIG.evolve(mode="thompson"), ["m@3"])  # still a shadow
    with_challengers = (*CONFIG.schedule, Tier("challenger", 10))
    assert gather_wait_ms(CONFIG.evolve(schedule=with_challengers), ["m@2"], 120) == 5


def test_a_worker_reads_at_once_if_one_of_its_models_may_answer_at_once() -> None:
    assert gathers(CONFIG, ["m@0", "m@3"])
    assert not gathers(CONFIG, ["m@0", "m@1"])
    assert gather_wait_ms(CONFIG, ["m@0", "f@1"], 120) == 17


def test_a_model_the_config_does_not_name_gathers_until_it_does() -> None:
    assert gathers(CONFIG, ["m@9"])
    assert not gathers(CONFIG.evolve(champion="m@9"), ["m@9"])


def test_no_config_no_gathering_and_zero_turns_it_off() -> None:
    assert not gathers(None, ["m@0"])
    assert not gathers(CONFIG, ["m@0"], 0)


def test_the_wait_leaves_half_the_sla_and_grace_for_the_scores_to_reach_the_record() -> None:
    # A mailbox closes a grace after its SLA: 50 + 200 ms take a 120 ms wait, 50 + 20 ms 35.
    assert gather_wait_ms(CONFIG, ["m@0"], 120) == 120
    assert gather_wait_ms(CONFIG.evolve(grace_ms=20), ["m@0"], 120) == 35
    assert gather_wait_ms(CONFIG.evolve(sla_ms=1, grace_ms=0), ["m@0"], 120) == 0


def test_only_a_gathering_consumer_changes_its_fetches() -> None:
    assert fetch_overrides(0) == {}
    assert fetch_overrides(120) == {"fetch.min.bytes": 65536, "fetch.wait.max.ms": 120}
