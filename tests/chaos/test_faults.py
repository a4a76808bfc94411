"""Faults under steady load, through `rdv_tools.bench.chaos` (what `rdv bench chaos` runs), in a
bounded form: each scenario gets a fresh broker and stack, 30 requests/s for 9 seconds (18 for
a rolling upgrade), the fault at a third and its repair at two thirds. What a user checks:
every request answered, exactly once, none lost, and every request in the decoy's archive.
Kafka's restart runs twice: a short outage, and one longer than the consumers' session
timeout, after which the group has moved on without its members (docs/reliability.md, "What
the broker restart found"). `broker-leader` and `controller` run on a three-node cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rdv_tools.bench.chaos import FAULTS, combined, run_scenario
from rdv_tools.bench.chaos_score import ChaosResult
from rdv_tools.cli.chaos_cmd import COMBINED
from rdv_tools.demo.stack import LocalStack

pytestmark = [pytest.mark.broker, pytest.mark.timeout(600)]


SCENARIOS: list[Any] = [  # scenario names, some with marks
    "rendezvous",
    "rendezvous-restart",
    "straggler",
    "broker",
    "broker-long",
    "rebalance",
    "upgrade",
    "combined",
    # On a three-node cluster: a node lost, its partitions (or the controller quorum) led
    # elsewhere within seconds, and restarted. Three brokers and a stack on two cores: they
    # run alone, after the rest of `make test` (marker `solo`).
    pytest.param("broker-leader", marks=pytest.mark.solo),
    pytest.param("controller", marks=pytest.mark.solo),
    # Two champion replicas; one killed for good, the other takes its partitions.
    "replica",
    # Two rendezvous instances; one killed for good, its peer takes its partitions.
    "rendezvous-peer",
]
# A rolling upgrade replaces six services one after another, from a third of the run on, the
# rendezvous last (~2.5 s a step here, more in CI's parallel part): the load lasts until after
# the new rendezvous has answered. A replica's (or a peer's) partitions move once its 10 s
# session times out: the run lasts well past that.
SECONDS = {"upgrade": 30, "replica": 33, "rendezvous-peer": 33}
# The dead instance's static membership holds its partitions for the 10 s session timeout;
# the peer then takes them and answers their backlog late. Beyond that, a little slack.
PEER_TAKEOVER_S = 13
# Of the last fifth of requests, per partition, the share the champion answered. A partition
# the survivor never took has none: the fallback or the default answers all of it. One it took
# has most, less what a busy machine sends to the fallback or default inside the SLA. The
# whole last fifth's share moved with the machine's load (0.69-0.95 in CI, 42 defaults of 198
# in the lowest); per partition, the bound is far from both 0 and that.
SURVIVOR_SHARE = 0.25
PARTITIONS = LocalStack.partitions  # the chaos stack's topics keep the default


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_no_request_is_lost_or_answered_twice(scenario: str, tmp_path: Path) -> None:
    fault = combined(COMBINED) if scenario == "combined" else FAULTS[scenario]
    seconds = SECONDS.get(scenario, 9)
    result = run_scenario(scenario, fault, 30, seconds, sla_ms=50, keep_logs=tmp_path)
    why = explain(result, tmp_path / scenario)
    assert result.sent == 30 * seconds
    assert result.lost == 0, why
    assert result.duplicated == 0, why
    assert result.answered == result.exactly_once == result.sent, why
    assert result.archived == 1.0, why
    if scenario in ("replica", "rendezvous-peer"):  # the survivor serves all partitions
        by_partition = result.preferred_at_end_by_partition
        assert sorted(by_partition) == list(range(PARTITIONS)), why
        assert min(by_partition.values()) >= SURVIVOR_SHARE, why
    if scenario == "rendezvous-peer":  # taken over within the dead one's session, not later
        assert result.late <= 30 * PEER_TAKEOVER_S, why
    if scenario == "upgrade":  # each new rendezvous and worker stopped the old one when ready
        logs = tmp_path / scenario
        takers = [p for p in logs.glob("*.log") if not p.stem.startswith(("decoy", "kafka-"))]
        assert len(takers) == 5, why  # the rendezvous and four workers
        assert all("took over from pid" in p.read_text() for p in takers), why
        # the new rendezvous says how long its hand-over's pause was, up to its first answer
        log = (logs / "rendezvous.log").read_text()
        assert log.count("first answer decided") == 2, why  # the first start, and the new one
    if fault.nodes == 3:
        assert result.nodes == 3 and result.outage_s > 0, why  # a node was lost, and replaced


def explain(result: ChaosResult, logs: Path) -> str:
    """The result, where the logs were kept, and what the rendezvous warned about: a rare
    failure should leave enough behind to be understood from the CI output alone."""
    log = logs / "rendezvous.log"
    notable = [
        line
        for line in (log.read_text(errors="replace").splitlines() if log.exists() else [])
        if ("WARNING" in line or "ERROR" in line or "CRITICAL" in line or "error:" in line)
        and "Connection refused" not in line
    ]
    return "\n".join([repr(result), f"logs kept in {logs}", *notable[-40:]])
