"""How many partitions the architecture's topics get: chosen, else what is there, else the
default; and RDV_PARTITIONS read from the environment the way compose passes it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rdv.settings import SharedSettings
from rdv.topics import DEFAULT_PARTITIONS, partition_count


def test_a_chosen_count_wins_over_the_topics_already_there() -> None:
    assert partition_count(4, {"requests": 6}) == 4


def test_a_stack_made_under_an_older_default_keeps_its_count() -> None:
    assert partition_count(None, {"requests": 6, "results": 6}) == 6


def test_a_new_cluster_gets_the_default() -> None:
    assert partition_count(None, {"other": 9}) == DEFAULT_PARTITIONS == 2


@pytest.mark.parametrize(("value", "expected"), [("", None), ("3", 3)])
def test_rdv_partitions_empty_is_unset(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: int | None
) -> None:
    monkeypatch.setenv("RDV_PARTITIONS", value)  # compose: ${RDV_PARTITIONS:-}
    assert SharedSettings().partitions == expected


def test_rdv_partitions_below_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RDV_PARTITIONS", "0")
    with pytest.raises(ValidationError, match="partitions"):
        SharedSettings()
