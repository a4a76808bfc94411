"""Faults under steady load, through `rdv.bench.chaos` (what `rdv bench chaos` runs), in a
bounded form: each scenario gets a fresh broker and stack, 30 requests/s for 9 seconds, the
fault at a third and its repair at two thirds. What a user checks: every request answered,
exactly once, none lost, and every request in the decoy's archive. Kafka's restart runs twice:
a short outage, and one longer than the consumers' session timeout, after which the group has
moved on without its members (docs/reliability.md, "What the broker restart found")."""

from __future__ import annotations

import pytest

from rdv.bench.chaos import FAULTS, combined, run_scenario
from rdv.cli.chaos_cmd import COMBINED

pytestmark = [pytest.mark.broker, pytest.mark.timeout(600)]


# Open defect: one clean-clone CI run (2026-11-21 13:33) saw 4 of 270 requests answered twice
# after the 15 s outage (0 lost); three earlier runs and the benchmark saw none. Suspect: a
# transaction abandoned with the lost assignment, or fenced, committing after the state restore.
# Still run on every CI; not yet a gate (docs/reliability.md, finding 8).
LONG_OUTAGE_DUPLICATES = pytest.mark.xfail(
    reason="rare duplicate answers after Kafka is away past the session timeout", strict=False
)


@pytest.mark.parametrize(
    "scenario",
    [
        "rendezvous",
        "straggler",
        "broker",
        pytest.param("broker-long", marks=LONG_OUTAGE_DUPLICATES),
        "rebalance",
        "combined",
    ],
)
def test_no_request_is_lost_or_answered_twice(scenario: str) -> None:
    fault = combined(COMBINED) if scenario == "combined" else FAULTS[scenario]
    result = run_scenario(scenario, fault, rate=30, seconds=9, sla_ms=50)
    assert result.sent == 270
    assert result.lost == 0, result
    assert result.duplicated == 0, result
    assert result.answered == result.exactly_once == result.sent
    assert result.archived == 1.0, result
