"""SASL/PLAIN settings of the embedded broker and the users file of `rdv broker start`."""

from __future__ import annotations

from pathlib import Path

import pytest

from rdv.errors import ConfigError
from rdv_tools.broker.properties import BROKER_USER, server_properties
from rdv_tools.cli.broker_cmd import read_sasl_users


def test_sasl_moves_the_client_listener_and_keeps_the_controller_plain(tmp_path: Path) -> None:
    text = server_properties(9092, 9093, tmp_path, {BROKER_USER: "b", "alice": "a"})
    props = dict(line.split("=", 1) for line in text.splitlines())
    assert props["listeners"] == "SASL_PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["listener.security.protocol.map"] == (
        "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT"
    )
    assert props["sasl.enabled.mechanisms"] == "PLAIN"
    jaas = props["listener.name.sasl_plaintext.plain.sasl.jaas.config"]
    assert 'user_alice="a"' in jaas and f'username="{BROKER_USER}" password="b"' in jaas
    assert jaas.endswith(";")


def test_without_users_the_listener_stays_plaintext(tmp_path: Path) -> None:
    assert "PLAINTEXT://127.0.0.1:9092" in server_properties(9092, 9093, tmp_path)
    assert "sasl" not in server_properties(9092, 9093, tmp_path)


def test_users_file_lines_comments_and_errors(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("# who may connect\nalice:pa:ss\n\nbob:secret\n")
    assert read_sasl_users(users) == {"alice": "pa:ss", "bob": "secret"}
    users.write_text("carol-without-password\n")
    with pytest.raises(ConfigError, match=r"users:1: expected user:password") as error:
        read_sasl_users(users)
    assert "carol" not in str(error.value)  # a malformed line may be a password
    with pytest.raises(ConfigError, match="cannot read"):
        read_sasl_users(tmp_path / "missing")
