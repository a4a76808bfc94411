"""TLS settings of the embedded broker: the certificate it makes and the listener it serves."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rdv_tools.broker.properties import BROKER_USER, server_properties
from rdv_tools.broker.tls import ensure_tls


def test_the_certificate_names_loopback_and_is_made_once(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path / "tls")
    text = subprocess.run(
        ["openssl", "x509", "-in", str(tmp_path / "tls" / "broker.pem"), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "IP Address:127.0.0.1" in text
    verified = subprocess.run(
        ["openssl", "verify", "-CAfile", str(files.ca), str(tmp_path / "tls" / "broker.pem")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert (tmp_path / "tls" / "password").stat().st_mode & 0o077 == 0
    # A restarted broker keeps its CA: clients that trust it go on trusting it.
    assert ensure_tls(tmp_path / "tls") == files


def test_tls_moves_the_client_listener_and_keeps_the_controller_plain(tmp_path: Path) -> None:
    files = ensure_tls(tmp_path / "tls")
    text = server_properties(9092, 9093, tmp_path, tls=files)
    props = dict(line.split("=", 1) for line in text.splitlines())
    assert props["listeners"] == "SSL://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["listener.security.protocol.map"] == "SSL:SSL,CONTROLLER:PLAINTEXT"
    assert props["ssl.keystore.location"] == str(files.keystore)
    assert props["ssl.truststore.location"] == str(files.ca)
    with pytest.raises(ValueError, match="SASL and TLS"):
        server_properties(9092, 9093, tmp_path, {BROKER_USER: "b"}, tls=files)
