"""Kafka over TLS: `rdv broker start --tls` makes a CA and a certificate, and the whole stack
runs on `KAFKA_SECURITY_PROTOCOL=SSL` and the CA alone; clients without it are refused with
one line."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from rdv_tools.broker import EmbeddedBroker
from tests.integration.harness import rdv_at_home
from tests.integration.test_security import run_stack_on

pytestmark = [pytest.mark.broker, pytest.mark.parallel]


@pytest.fixture(scope="module")
def tls_broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker.throwaway(tls=True) as broker:
        yield broker


def ssl(broker: EmbeddedBroker, ca: Path | None = None) -> dict[str, str]:
    files = broker.tls_files
    assert files is not None
    return {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "KAFKA_SECURITY_PROTOCOL": "SSL",
        "KAFKA_SSL_CA_LOCATION": str(ca or files.ca),
    }


def test_the_stack_runs_over_tls_with_the_ca_alone(
    tls_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    run_stack_on(tmp_path, ssl(tls_broker))
    # The requests went over TLS too: read back with the same two settings.
    env = ssl(tls_broker)
    read = rdv_at_home(tmp_path, "consume", "requests", "--max", "1", **env)
    assert read.returncode == 0 and len(read.stdout.strip().splitlines()) == 1, read.stderr


def test_a_plaintext_client_is_refused_with_one_line(
    tls_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    result = rdv_at_home(tmp_path, "topics", "list", KAFKA_BOOTSTRAP_SERVERS=tls_broker.bootstrap)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_client_that_trusts_another_ca_is_refused_with_one_line(
    tls_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    other = tmp_path / "other-ca.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
         str(tmp_path / "other.key"), "-out", str(other), "-days", "2", "-subj", "/CN=other"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    result = rdv_at_home(tmp_path, "topics", "list", **ssl(tls_broker, other))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "certificate" in result.stderr.lower() or "ssl" in result.stderr.lower()
