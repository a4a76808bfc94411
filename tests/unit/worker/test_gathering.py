"""Which workers may read gathered: only those whose models the config in force never lets
answer, and only where the gathered scores still reach the record."""

from __future__ import annotations

from rdv.rollout.config import RolloutConfig
from rdv.worker.gathering import fetch_overrides, gathers

CONFIG = RolloutConfig(
    champion="m@1",
    challengers=("m@2", "m@3"),
    shadow=("m@3",),
    canary="m@0",
    fallback="f@1",
    sla_ms=50,
    grace_ms=200,
)


def test_a_shadow_and_the_canary_gather_and_models_that_may_answer_do_not() -> None:
    assert gathers(CONFIG, ["m@3"], 50) and gathers(CONFIG, ["m@0"], 50)
    assert not any(gathers(CONFIG, [m], 50) for m in ("m@1", "m@2", "f@1"))


def test_a_worker_hosting_one_model_that_answers_reads_at_once() -> None:
    assert gathers(CONFIG, ["m@0", "m@3"], 50)
    assert not gathers(CONFIG, ["m@0", "m@1"], 50)


def test_a_model_the_config_does_not_name_gathers_until_it_does() -> None:
    assert gathers(CONFIG, ["m@9"], 50)
    assert not gathers(CONFIG.evolve(champion="m@9"), ["m@9"], 50)


def test_no_config_no_gathering_and_zero_turns_it_off() -> None:
    assert not gathers(None, ["m@0"], 50)
    assert not gathers(CONFIG, ["m@0"], 0)


def test_no_gathering_when_the_scores_would_miss_the_record() -> None:
    # A mailbox closes a grace after its SLA: 50 + 20 ms leaves no room for 50 ms waits.
    assert not gathers(CONFIG.evolve(grace_ms=20), ["m@0"], 50)
    assert gathers(CONFIG.evolve(grace_ms=50), ["m@0"], 50)


def test_only_a_gathering_consumer_changes_its_fetches() -> None:
    assert fetch_overrides(False, 50) == {}
    assert fetch_overrides(True, 50) == {"fetch.min.bytes": 65536, "fetch.wait.max.ms": 50}
