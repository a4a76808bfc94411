"""Rollout configs are refused with the reason before they can take effect."""

from __future__ import annotations

import pytest

from rdv.errors import ConfigError
from rdv.rollout.config import RolloutConfig, Tier, parse_config
from tests.unit.rendezvous.sim import CONFIG

GOOD = """
sla_ms: 50
champion: m@2
challengers: [m@3]
fallback: fast@1
canary: m@1
schedule:
  - {use: preferred, after_ms: 0}
  - {use: champion, after_ms: 20}
  - {use: fallback, after_ms: 35}
default: {score: 0.0, label: unknown}
traffic: {mode: split, split: {"m@2": 0.8, "m@3": 0.2}}
"""


def test_a_good_config_parses_validates_and_round_trips() -> None:
    config = parse_config(GOOD).validated()
    assert config.split == {"m@2": 0.8, "m@3": 0.2} and config.fallback == "fast@1"
    assert RolloutConfig.from_record(config.to_record()) == config
    assert parse_config(config.to_yaml()) == config


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"split": {"m@2": 0.8, "m@9": 0.2}}, "split names m@9, which is not the champion"),
        ({"split": {"m@2": 0.7, "m@3": 0.2}}, "split weights sum to 0.9, not 1"),
        ({"schedule": (Tier("champion", 20), Tier("preferred", 0))}, "tiers must be in order"),
        ({"schedule": (Tier("preferred", 0), Tier("fallback", 60))}, "outside the SLA of 50 ms"),
        ({"schedule": (Tier("x@9", 0),)}, "tier names unknown model x@9"),
        ({"schedule": (Tier("m@1", 0),)}, "a canary or shadow, which never answers"),
        ({"schedule": (Tier("soon", 0),)}, "tier use 'soon' must be one of"),
        ({"champion": "nameless"}, "model 'nameless' must be named name@version"),
        ({"canary": "m@2"}, "the canary m@2 cannot also answer requests"),
        ({"mode": "random"}, "traffic mode 'random' is not one of"),
        ({"sla_ms": 0}, "sla_ms must be positive"),
        ({"fallback": None}, "fallback tier but no fallback model is set"),
        ({"default_score": None, "default_label": None}, "default needs a score or a label"),
    ],
)
def test_bad_configs_are_refused_with_the_reason(change: dict, reason: str) -> None:
    config = CONFIG.evolve(**{"mode": "split", "split": {"m@2": 0.8, "m@3": 0.2}, **change})
    with pytest.raises(ConfigError, match=reason.replace("(", r"\(")):
        config.validated()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("sla_ms: [", "is not valid YAML"),
        ("- a\n- b", "must be a mapping"),
        ("sla_ms: 10", "champion is required"),
        ("champion: a@1\nslaa_ms: 10", r"unknown settings \['slaa_ms'\]"),
        ("champion: a@1\nschedule: [{use: champion}]", "malformed setting"),
        # The setting is named, not only int()'s message about a literal.
        ("champion: a@1\nsla_ms: fast", "sla_ms must be a whole number, got 'fast'"),
        ("champion: a@1\ngrace_ms: 2.5", "grace_ms must be a whole number, got 2.5"),
        (
            "champion: a@1\nschedule: [{use: champion, after_ms: soon}]",
            r"schedule\[0\].after_ms must be a whole number",
        ),
        ("champion: a@1\ndefault: {score: high}", "default.score must be a number, got 'high'"),
        (
            "champion: a@1\ntraffic: {mode: split, split: {a@1: half}}",
            "traffic.split.a@1 must be a number",
        ),
    ],
)
def test_malformed_files_say_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        parse_config(text, "rollout.yaml")
