"""The overload table says where its late answers were lost: decided late by a rendezvous
behind, or decided in time and held on the way back to the client."""

from __future__ import annotations

from rich.console import Console

from rdv_tools.bench.e2e import E2EResult, Overload, RateResult
from rdv_tools.bench.floor import FloorResult
from rdv_tools.bench.stats import LatencySummary
from rdv_tools.cli.bench_tables import overload_table


def _phase(rate: float, late_decided: int, late_after: int, decided_p99_ms: float) -> RateResult:
    sent = int(rate * 10)
    latency = LatencySummary(sent, 5.0, 120.0, 180.0, 200.0)
    decided = LatencySummary(sent, 2.0, decided_p99_ms, decided_p99_ms, decided_p99_ms)
    met = 1 - (late_decided + late_after) / sent
    return RateResult(
        rate,
        sent,
        sent,
        10.0,
        latency,
        met,
        decided=decided,
        late_decided=late_decided,
        late_after_decision=late_after,
    )


def _rendered(result: E2EResult) -> str:
    console = Console(width=250, record=True)
    console.print(overload_table(result))
    return console.export_text()


def test_each_phase_splits_its_late_answers_into_decided_late_and_held_after() -> None:
    hop = LatencySummary(100, 0.4, 2.0, 3.0, 4.0)
    result = E2EResult(50, "exactly_once", FloorResult("b", 100, hop, 1000, 5e4), [])
    result.overload = Overload(800, _phase(1600, 747, 781, 80.4), _phase(400, 0, 12, 31.5))
    text = _rendered(result)
    assert "late: decided / after" in text and "decided p99 ms" in text
    overload = next(line for line in text.splitlines() if "overload " in line and "1600" in line)
    recovery = next(line for line in text.splitlines() if "recovery" in line)
    assert "747 / 781" in overload and "80.4" in overload and "90.5%" in overload
    assert "0 / 12" in recovery and "31.5" in recovery
