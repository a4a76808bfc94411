"""What `rdv up` runs: one worker per model and replica, each on its own metrics port."""

from __future__ import annotations

from pathlib import Path

import pytest

from rdv.errors import ConfigError
from rdv.settings_util import load_settings
from rdv_tools.up.plan import UpSettings, service_specs

MODELS = {m: Path(f"/registry/{m}") for m in ("login-bot@2", "login-bot@3", "fast@1")}


def test_replicas_of_a_model_run_the_same_command_on_ports_of_their_own() -> None:
    specs = service_specs(MODELS, Path("/home"), 9400, replicas=2)
    names = [s.name for s in specs]
    assert names[:6] == [
        "login-bot@2",
        "login-bot@3",
        "fast@1",
        "login-bot@2#2",
        "login-bot@3#2",
        "fast@1#2",
    ]
    assert names[6:] == ["decoy", "gateway", "rendezvous"]
    by_name = {s.name: s for s in specs}
    first, second = by_name["login-bot@2"], by_name["login-bot@2#2"]
    # Same model, same group (the default, by model id): only the metrics port differs.
    assert first.command[:-1] == second.command[:-1]
    assert (first.metrics_port, second.metrics_port) == (9401, 9411)
    ports = [s.metrics_port for s in specs]
    assert len(ports) == len(set(ports))


def test_one_replica_is_the_default() -> None:
    names = [s.name for s in service_specs(MODELS, Path("/home"), 9400)]
    assert names == ["login-bot@2", "login-bot@3", "fast@1", "decoy", "gateway", "rendezvous"]


@pytest.mark.parametrize("cohost", [False, True])
def test_workers_and_the_rendezvous_are_replaced_make_before_break(cohost: bool) -> None:
    # `rdv restart` starts their successor with --take-over; the decoy and the gateway (no
    # partitions of their own to hand over in time) are stopped first.
    specs = service_specs(MODELS, Path("/home"), 9400, cohost=cohost)
    taking_over = {s.name for s in specs if s.takes_over}
    assert taking_over == {s.name for s in specs} - {"decoy", "gateway"}
    assert all("worker" in s.command or "rendezvous" in s.command for s in specs if s.takes_over)


def test_too_many_replicas_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RDV_UP_REPLICAS", "40")
    with pytest.raises(ConfigError, match="RDV_UP_REPLICAS"):
        load_settings(UpSettings)


def test_cohosting_puts_every_model_but_the_fallback_in_one_worker() -> None:
    specs = service_specs(MODELS, Path("/home"), 9400, replicas=2, cohost=True)
    by_name = {s.name: s for s in specs}
    assert list(by_name) == [
        "models",
        "fast@1",
        "models#2",
        "fast@1#2",
        "decoy",
        "gateway",
        "rendezvous",
    ]
    command = list(by_name["models"].command)
    hosted = [command[i + 1] for i, a in enumerate(command) if a == "--model"]
    assert hosted == ["/registry/login-bot@2", "/registry/login-bot@3"]
    assert (by_name["models"].metrics_port, by_name["models#2"].metrics_port) == (9401, 9411)
    assert by_name["fast@1"].metrics_port == 9404
