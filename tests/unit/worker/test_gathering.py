"""Which workers may read gathered: only those whose models the config in force never lets
answer, and only where the gathered scores still reach the record."""

from __future__ import annotations

from rdv.rollout.config import RolloutConfig
from rdv.worker.gathering import fetch_overrides, gather_wait_ms

CONFIG = RolloutConfig(
    champion="m@1",
    challengers=("m@2", "m@3"),
    shadow=("m@3",),
    canary="m@0",
    fallback="f@1",
    sla_ms=50,
    grace_ms=200,
)


def gathers(config: RolloutConfig | None, models: list[str], gather_ms: int = 120) -> bool:
    return gather_wait_ms(config, models, gather_ms) > 0


def test_a_shadow_and_the_canary_gather_and_models_that_may_answer_do_not() -> None:
    assert gathers(CONFIG, ["m@3"]) and gathers(CONFIG, ["m@0"])
    assert not any(gathers(CONFIG, [m]) for m in ("m@1", "m@2", "f@1"))


def test_a_worker_hosting_one_model_that_answers_reads_at_once() -> None:
    assert gathers(CONFIG, ["m@0", "m@3"])
    assert not gathers(CONFIG, ["m@0", "m@1"])


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
