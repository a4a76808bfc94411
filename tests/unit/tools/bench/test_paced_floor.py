"""The paced floor's verdict: the highest rate each client setting carries inside the SLA."""

import pytest

from rdv.errors import ConfigError
from rdv_tools.bench.floor_cpu import PacedFloor, highest_inside
from rdv_tools.bench.stats import LatencySummary
from rdv_tools.cli.bench_cmd import parse_rates


def _floor(settings: str, rate: float, p99_ms: float, lost: int = 0) -> PacedFloor:
    sent = int(rate * 10)
    latency = LatencySummary(sent - lost, p99_ms / 4, p99_ms, p99_ms, p99_ms)
    return PacedFloor(settings, rate, sent, sent - lost, latency, {"total": 1.0})


def test_the_highest_rate_inside_the_sla_per_setting() -> None:
    floors = [
        _floor("least latency", 300, 14.0),
        _floor("least CPU", 300, 45.0),
        _floor("least latency", 1000, 113.0),
        _floor("least CPU", 1000, 47.2),
        _floor("least latency", 4000, 49.0),  # inside again past a rate that was not
        _floor("least CPU", 4000, 55.8),
    ]
    assert highest_inside(floors, 50) == {"least latency": 4000, "least CPU": 1000}


def test_a_rate_that_lost_messages_is_not_inside_whatever_its_p99() -> None:
    floors = [_floor("least latency", 300, 10.0), _floor("least latency", 1000, 10.0, lost=3)]
    assert highest_inside(floors, 50) == {"least latency": 300, "least CPU": None}


def test_no_rate_inside_is_none() -> None:
    assert highest_inside([_floor("least CPU", 300, 51.0)], 50)["least CPU"] is None


def test_rates_are_parsed_and_bad_ones_named() -> None:
    assert parse_rates("300,1000, 2000", "--paced-rate") == [300.0, 1000.0, 2000.0]
    assert parse_rates("0", "--paced-rate") == [0.0]
    with pytest.raises(ConfigError, match="--paced-rate must be numbers separated by commas"):
        parse_rates("300;1000", "--paced-rate")
    with pytest.raises(ConfigError, match="--rates must be rates of 0 or more"):
        parse_rates("100,-5", "--rates")
    with pytest.raises(ConfigError, match="--rates must be rates of 0 or more"):
        parse_rates("nan", "--rates")
