"""The rendezvous's settings as an operator gives them: environment variables, checked."""

from __future__ import annotations

import pytest

from rdv.errors import ConfigError
from rdv.rendezvous.settings import RendezvousServiceSettings
from rdv.settings_util import load_settings


def test_the_fetch_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RDV_RENDEZVOUS_FETCH_WAIT_MS", "3")
    monkeypatch.setenv("RDV_RENDEZVOUS_FETCH_MIN_BYTES", "65536")
    settings = load_settings(RendezvousServiceSettings)
    assert (settings.fetch_wait_ms, settings.fetch_min_bytes) == (3, 65536)


def test_by_default_a_fetch_returns_with_its_first_byte() -> None:
    settings = RendezvousServiceSettings()
    assert (settings.fetch_wait_ms, settings.fetch_min_bytes) == (500, 1)


def test_a_fetch_that_never_waits_is_refused_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RDV_RENDEZVOUS_FETCH_WAIT_MS", "0")
    with pytest.raises(ConfigError, match="RDV_RENDEZVOUS_FETCH_WAIT_MS"):
        load_settings(RendezvousServiceSettings)


def test_a_transaction_timeout_within_the_commit_interval_is_refused_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RDV_RENDEZVOUS_COMMIT_INTERVAL_MS", "15000")
    with pytest.raises(ConfigError) as refused:
        load_settings(RendezvousServiceSettings)  # the 10 s default timeout
    message = str(refused.value)
    assert "RDV_RENDEZVOUS_TRANSACTION_TIMEOUT_MS" in message
    assert "RDV_RENDEZVOUS_COMMIT_INTERVAL_MS" in message and "\n" not in message
    monkeypatch.setenv("RDV_RENDEZVOUS_TRANSACTION_TIMEOUT_MS", "30000")
    assert load_settings(RendezvousServiceSettings).transaction_timeout_ms == 30000
