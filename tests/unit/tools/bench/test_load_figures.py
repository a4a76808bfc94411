"""The verdicts the load benchmarks print: the saturation rate, the soak's drift, and the
plots, from figures shaped as the benchmarks write them."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from rdv_tools.bench.e2e import E2EResult, Overload, RateResult
from rdv_tools.bench.floor import FloorResult
from rdv_tools.bench.plot import latency_vs_rate, soak_over_time
from rdv_tools.bench.soak import SoakResult, SoakSample, rss_mb
from rdv_tools.bench.stats import LatencySummary

PNG = b"\x89PNG\r\n\x1a\n"


def _rate(rate: float, p99_ms: float, answered: int | None = None) -> RateResult:
    sent = int(rate * 10)
    latency = LatencySummary(sent, p99_ms / 3, p99_ms, p99_ms * 1.5, p99_ms * 2)
    return RateResult(rate, sent, sent if answered is None else answered, 10.0, latency, 0.99)


def _e2e(rates: list[RateResult]) -> E2EResult:
    hop = LatencySummary(100, 2.0, 5.0, 8.0, 9.0)
    return E2EResult(50, "at_least_once", FloorResult("b", 100, hop, 1000, 5e4), rates)


def test_saturation_is_the_highest_rate_inside_the_sla_with_everything_answered() -> None:
    result = _e2e([_rate(50, 20), _rate(100, 30), _rate(200, 45, answered=1999), _rate(400, 90)])
    # 200/s had p99 inside the SLA but left a request unanswered: it does not count.
    assert result.saturation == 100
    assert _e2e([_rate(50, 60)]).saturation is None
    figures = result.as_dict()
    assert figures["saturation_rate"] == 100
    assert [r["unanswered"] for r in figures["rates"]] == [0, 0, 1, 0]


def test_a_rate_is_behind_when_answers_lag_or_latency_is_a_queue() -> None:
    assert not _rate(100, 90).behind(50)  # a p99 outside the SLA is a tail, not saturation
    assert _rate(100, 1500).behind(50)  # twenty SLAs: a queue
    assert _rate(100, 30, answered=999).behind(50)
    slow = _rate(400, 30)
    slow.seconds = 12.0  # 4000 answered over 12 s: 333/s for 400/s sent
    assert slow.behind(50)


def test_soak_drift_compares_latency_with_the_median_window_and_memory_with_the_first() -> None:
    samples = [
        # The first window holds the stack settling: it must not make the rest look better.
        SoakSample(1.0, 6000, 6000, 10.0, 1200.0, 30.0, {"rendezvous": 100.0, "decoy": 200.0}),
        SoakSample(2.0, 6000, 6000, 10.0, 40.0, 30.0, {"rendezvous": 150.0, "decoy": 200.0}),
        SoakSample(3.0, 6000, 6000, 11.0, 44.0, 31.0, {"rendezvous": 100.0, "decoy": 300.0}),
    ]
    drift = SoakResult(100, 60, 50, "exactly_once", "all", samples).drift()
    assert drift == {"client p99": 1.0, "rendezvous memory": 1.0, "decoy memory": 1.5}


def test_rss_of_this_process_is_read_and_of_a_dead_one_is_none() -> None:
    import os

    mine = rss_mb(os.getpid())
    assert mine is not None and mine > 1
    assert rss_mb(2**22 + 12345) is None  # above pid_max's default: never a live process


def test_plots_are_pngs(tmp_path: Path) -> None:
    e2e = json.loads(
        json.dumps({"benchmark": "e2e", **_e2e([_rate(50, 20), _rate(100, 30)]).as_dict()})
    )
    other = {**e2e, "partitions": 1, "delivery": "exactly_once"}
    latency = latency_vs_rate([e2e, other], tmp_path / "latency.png")
    assert latency.read_bytes().startswith(PNG) and latency.stat().st_size > 10_000
    sample = SoakSample(1.0, 10, 10, 1.0, 2.0, 1.5, {"rendezvous": 90.0})
    soak = soak_over_time(
        [asdict(sample), {**asdict(sample), "minute": 2.0}], tmp_path / "s.png", 50
    )
    assert soak.read_bytes().startswith(PNG) and soak.stat().st_size > 10_000


def test_recovery_is_timed_from_the_load_drop_to_the_last_second_with_many_late() -> None:
    load = _rate(400, 900)
    calm = _rate(100, 30)
    # Seconds 0-2 after the drop still late, then one stray late answer in second 6: 99% of
    # every second from second 3 on is in time.
    calm.late_by_second = [80, 30, 2, 0, 0, 0, 1, 0, 0, 0]
    overload = Overload(200, load, calm)
    assert overload.recovered_after_s == 3.0
    calm.late_by_second = [0] * 10
    assert overload.recovered_after_s == 0.0
    assert Overload(200, load, _rate(50, 30, answered=499)).recovered_after_s is None
    assert _rate(100, 30).recovered_after_s() == 0.0
    figures = _e2e([_rate(200, 40)])
    figures.overload = overload
    written = json.loads(json.dumps(figures.as_dict()))
    assert written["overload"]["saturation"] == 200
    assert written["overload"]["load"]["rate"] == 400
    assert written["overload"]["recovered_after_s"] == 0.0
