"""The rollout validator fed random and mutated configs (hypothesis): every input is either a
valid config or a ConfigError with a one-line reason, never another exception. The same
validation guards `rdv rollout set` and the configs the rendezvous reads from its topic."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rdv.errors import ConfigError
from rdv.rollout.config import parse_config
from rdv_tools.demo.stack import example_config

GOOD: dict[str, Any] = yaml.safe_load(example_config(50).to_yaml())
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


def judge(text: str) -> None:
    try:
        config = parse_config(text, "fuzz.yaml").validated()
    except ConfigError as exc:
        assert str(exc) and "\n" not in str(exc).strip(), str(exc)
        return
    # What passes is a usable config: the champion is a model, tiers are in order.
    assert "@" in config.champion
    assert [t.after_ms for t in config.schedule] == sorted(t.after_ms for t in config.schedule)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    judge(text)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(GOOD)), VALUES)
def test_one_field_of_a_good_config_replaced(field: str, value: Any) -> None:
    judge(yaml.safe_dump({**GOOD, field: value}))


@settings(max_examples=200, deadline=None)
@given(st.sets(st.sampled_from(sorted(GOOD)), min_size=1))
def test_fields_left_out(missing: set[str]) -> None:
    judge(yaml.safe_dump({k: v for k, v in GOOD.items() if k not in missing}))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=10), VALUES, max_size=3))
def test_unknown_fields_added(extra: dict[str, Any]) -> None:
    judge(yaml.safe_dump({**GOOD, **extra}))
