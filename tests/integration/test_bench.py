"""The load and peer benchmarks as a user runs them, in a bounded form: the figures they
write hold what the tables claim, and the plots are real PNGs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rdv.kafka.admin import topic_partitions
from tests.integration.harness import eventually
from tests.integration.test_cli import rdv

pytestmark = [pytest.mark.broker, pytest.mark.timeout(900)]
PNG = b"\x89PNG\r\n\x1a\n"


def test_e2e_sweep_reports_saturation_and_draws_latency_against_rate(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    figures, plot = tmp_path / "e2e.json", tmp_path / "e2e.png"
    topics_before = set(topic_partitions(kafka_bootstrap))
    result = rdv(
        "bench",
        "e2e",
        "--rates",
        "10,20",
        "--seconds",
        "3",
        "--models",
        "champion",
        "--partitions",
        "2",
        "--delivery",
        "at_least_once",
        "--until-saturated",
        "--overload",
        "--overload-seconds",
        "2",
        "--json",
        str(figures),
        "--plot",
        str(plot),
        bootstrap=kafka_bootstrap,
    )
    assert result.returncode == 0, result.stderr
    assert "highest rate with every request answered" in result.stdout
    assert "CPU per request from /proc" in result.stdout and "overload" in result.stdout
    data = json.loads(figures.read_text())
    assert (data["models"], data["partitions"], data["delivery"]) == (
        "champion",
        2,
        "at_least_once",
    )
    assert [r["rate"] for r in data["rates"]] == [10, 20]  # 10 and 20/s never saturate it
    for rate in data["rates"]:
        assert rate["answered"] == rate["sent"] == rate["rate"] * 3
        assert rate["decided"]["p50_ms"] <= data["sla_ms"] + 5  # decided by the SLA at the latest
        assert set(rate["reasons"]) <= {"preferred", "default"}  # the champion alone answers
        # Every answer received past the SLA is put down to its decision or to what came after.
        late = round(rate["sent"] * (1 - rate["sla_met"]))
        assert rate["late_decided"] + rate["late_after_decision"] == late
        assert rate["after_decision"]["p50_ms"] <= rate["latency"]["p50_ms"]
        # How far the client's sends ran behind schedule, each second of the run: a client
        # at 10-20/s is never a second behind.
        lag = rate["send_lag_by_second"]
        assert len(lag) >= 3 and all(0 <= ms < 1000 for ms in lag)
    good = [r["rate"] for r in data["rates"] if r["latency"]["p99_ms"] <= data["sla_ms"]]
    assert data["saturation_rate"] == (max(good) if good else None)
    # CPU per request of each process, the broker's included (it runs on this machine).
    for rate in data["rates"]:
        assert rate["cpu_us"]["total"] > 0
        assert {"broker", "client", "rendezvous", "login-bot@2"} <= set(rate["cpu_us"])
    # What the broker served, from its own counters: at least the stack's own requests (at
    # 10-20/s nothing is batched: the client's, the worker's and the rendezvous's produce).
    assert "what the broker served per request" in result.stdout
    for rate in data["rates"]:
        served = rate["broker_served"]
        assert served["produce"] >= 3 and served["fetch"] >= 1
        assert served["messages_in"] >= 3 and served["bytes_out"] > 0
    # Who asked: at 10-20/s every request, score and answer is a produce request of its own
    # (and more fetches); never more than the broker served, however many share it.
    assert "who asks the broker" in result.stdout
    for rate in data["rates"]:
        asked, served = rate["asked_by"], rate["broker_served"]
        assert min(asked["client"], asked["login-bot@2"], asked["rendezvous"]) >= 1
        assert asked["total"] <= 1.25 * (served["produce"] + served["fetch"] + served["other"])
    # The machine's cores over each rate, from /proc/stat: in use, since the stack ran.
    assert "all cores taken" in result.stdout
    for rate in data["rates"]:
        machine = rate["machine"]
        assert machine["cores"] == os.cpu_count() and machine["windows"] >= 20
        assert 0 < machine["busy"] <= 1 and 0 <= machine["all_taken"] <= 1
    idle = data["idle_share_of_core"]
    assert 0 < idle["total"] < 2
    # The broker's JIT compiler threads, found by name in the real JVM: part of the broker.
    assert 0 <= idle["broker JIT"] <= idle["broker"]
    assert all(r["cpu_us"]["broker JIT"] <= r["cpu_us"]["broker"] for r in data["rates"])
    # Twice the saturation rate (or the first rate, if none kept the SLA), then half of it.
    overload = data["overload"]
    assert overload["load"]["rate"] == 2 * (data["saturation_rate"] or 10)
    assert overload["load"]["answered"] == overload["load"]["sent"]
    assert overload["recovery"]["answered"] == overload["recovery"]["sent"]
    assert overload["recovered_after_s"] is not None
    # The overload's late answers are put down to their decision or to what came after, too.
    for phase in (overload["load"], overload["recovery"]):
        late = round(phase["sent"] * (1 - phase["sla_met"]))
        assert phase["late_decided"] + phase["late_after_decision"] == late
    assert plot.read_bytes().startswith(PNG)

    # The run's private topics are gone with it: a broker that serves many runs stays small.
    # A deletion the controller has taken can take a moment to leave the broker's metadata.
    def none_left() -> bool:
        made = {t for t in topic_partitions(kafka_bootstrap) if not t.startswith("__")}
        assert made - topics_before == set()
        return True

    eventually(none_left, timeout=10, what="the run's topics to be deleted")


def test_soak_reports_every_window_with_memory_and_draws_it(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    figures, plot = tmp_path / "soak.json", tmp_path / "soak.png"
    result = rdv(
        "bench",
        "soak",
        "--rate",
        "10",
        "--minutes",
        "0.1",
        "--window",
        "3",
        "--models",
        "champion",
        "--delivery",
        "at_least_once",
        "--json",
        str(figures),
        "--plot",
        str(plot),
        bootstrap=kafka_bootstrap,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(figures.read_text())
    assert len(data["samples"]) == 2
    for sample in data["samples"]:
        assert sample["answered"] == sample["sent"] == 30
        assert set(sample["rss_mb"]) == {"login-bot@2", "rendezvous"}
        assert all(20 < mb < 2000 for mb in sample["rss_mb"].values())
    assert "rendezvous memory: last window / first" in result.stdout
    assert "client p99: last window / median" in result.stdout
    assert plot.read_bytes().startswith(PNG)


def test_peer_serves_the_same_model_through_mlserver_and_rendezvous(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Needs PyPI the first time (MLServer's virtualenv is created in the cache)."""
    figures = tmp_path / "peer.json"
    result = rdv(
        "bench",
        "peer",
        "--rate",
        "20",
        "--seconds",
        "2",
        "--burst",
        "200",
        "--json",
        str(figures),
        bootstrap=kafka_bootstrap,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(figures.read_text())
    assert data["twin_max_difference"] <= 1e-9
    systems = [(r["system"], r["models"], r["delivery"]) for r in data["rows"]]
    assert [s[1] for s in systems[:2]] == [
        "the model, default settings",
        "the model, parallel_workers 0",
    ]
    assert all(s[0].startswith("MLServer") for s in systems[:2])
    assert systems[2:] == [
        ("Rendezvous", "the model", "at_least_once"),
        ("Rendezvous", "the model", "exactly_once"),
        ("Rendezvous", "champion, challenger, canary, fallback, decoy", "exactly_once"),
    ]
    for row in data["rows"]:
        assert row["fixed"]["answered"] == row["fixed"]["sent"] == 40
        assert row["burst_answered"] == 200
        assert "default" not in row["burst_reasons"]  # the burst SLA lets every model answer
        assert row["burst_model_answers_per_s"] > 0
    assert data["rows"][0]["burst_reasons"] == data["rows"][1]["burst_reasons"] == {"mlserver": 200}
    assert "x MLServer" in result.stdout


def test_peer_over_http_calls_mlserver_rest_and_the_gateway_alike(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    figures = tmp_path / "peer-http.json"
    result = rdv(
        "bench", "peer", "--http", "--rate", "20", "--seconds", "1", "--burst", "100",
        "--json", str(figures), bootstrap=kafka_bootstrap,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(figures.read_text())["rows"]
    assert [(r["system"].split(" ")[0], r["models"]) for r in rows] == [
        ("MLServer", "the model"),
        ("Rendezvous", "the model"),
        ("Rendezvous", "champion, challenger, canary, fallback, decoy"),
    ]
    assert rows[0]["system"].endswith("REST") and rows[1]["system"] == "Rendezvous gateway"
    for row in rows:  # every call answered by a model over HTTP, none failed
        assert row["fixed"]["answered"] == row["fixed"]["sent"] == 20
        assert sum(row["burst_reasons"].values()) == row["burst_answered"] == 100
        assert not any(reason.startswith("http") for reason in row["burst_reasons"])
    assert rows[0]["burst_reasons"] == {"mlserver": 100}


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ("e2e", "--models", "most"),
            "--models must be one of all, cohosted, champion, not 'most'",
        ),
        (("soak", "--delivery", "twice"), "--delivery must be exactly_once or at_least_once"),
        (("e2e", "--rates", "fast"), "--rates must be numbers separated by commas"),
    ],
)
def test_a_bad_benchmark_choice_is_one_line(args: tuple[str, ...], said: str) -> None:
    result = rdv("bench", *args)
    assert result.returncode == 2
    assert said in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_state_restore_reads_every_record_of_both_settings_before_any_compaction(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    figures = tmp_path / "state.json"
    result = rdv(
        "bench", "state-restore", "--minutes", "0.05", "--rate", "40", "--json", str(figures),
        bootstrap=kafka_bootstrap,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(figures.read_text())["figures"]
    assert [r["settings"] for r in rows] == ["today", "before 2026-12-04"]
    for row in rows:
        # Three seconds: no segment has rolled, so a restore reads all three records of each
        # request (answered, closed, tombstone), two of them with values.
        assert row["requests"] >= 100
        assert row["records_read"] == 3 * row["requests"]
        assert row["with_values"] == 2 * row["requests"]
    assert "a restore after 0.05 min at 40 requests/s" in result.stdout
