"""TLS for the embedded broker: a private CA and a certificate for 127.0.0.1, made with the
system's `openssl`, and the listener settings that use them.

The client listener speaks SSL; the controller listener stays PLAINTEXT on loopback (only the
broker talks to it). The broker's key is in a PKCS#12 keystore: Kafka's PEM keystores want an
encrypted PKCS#8 key, PKCS#12 is the format every Java and openssl agree on. Clients need only
the CA: `KAFKA_SECURITY_PROTOCOL=SSL KAFKA_SSL_CA_LOCATION=<dir>/ca.pem`."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rdv.errors import ConfigError

DAYS = 825  # the longest validity that browsers and most TLS stacks still accept


@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # PEM: what clients trust
    keystore: Path  # PKCS#12: the broker's key and certificate
    password: str  # of the keystore and its key; kept in the data dir, readable by its owner

    @classmethod
    def in_dir(cls, directory: Path) -> TlsFiles | None:
        ca, keystore, password = (
            directory / "ca.pem",
            directory / "broker.p12",
            directory / "password",
        )
        if ca.exists() and keystore.exists() and password.exists():
            return cls(ca, keystore, password.read_text().strip())
        return None


def ensure_tls(directory: Path) -> TlsFiles:
    """The CA and broker certificate in `directory`, made once and kept (clients that trust the
    CA go on trusting a restarted broker)."""
    existing = TlsFiles.in_dir(directory)
    if existing is not None:
        return existing
    openssl = shutil.which("openssl")
    if openssl is None:
        raise ConfigError(
            "TLS needs the `openssl` command: install it (Debian: apt install openssl)"
        )
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    password = secrets.token_urlsafe(18)
    (directory / "password").touch(mode=0o600)
    (directory / "password").write_text(password)
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def run(*args: str) -> None:
        done = subprocess.run(
            [openssl, *args], cwd=directory, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise ConfigError(f"openssl {args[0]} failed: {done.stderr.strip().splitlines()[-1]}")

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", str(DAYS), "-subj", "/CN=rendezvous local CA")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.key", "-out", "broker.csr",
        "-subj", "/CN=127.0.0.1")  # fmt: skip
    run("x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "broker.pem", "-days", str(DAYS),
        "-extfile", "san.ext")  # fmt: skip
    run("pkcs12", "-export", "-in", "broker.pem", "-inkey", "broker.key", "-out", "broker.p12",
        "-name", "kafka", "-passout", f"pass:{password}")  # fmt: skip
    for private in ("ca.key", "broker.key", "broker.p12"):
        (directory / private).chmod(0o600)
    files = TlsFiles.in_dir(directory)
    assert files is not None
    return files


def ssl_settings(port: int, controller_port: int, files: TlsFiles) -> dict[str, str]:
    """The client listener as SSL with this keystore; the broker trusts its own CA (it talks
    to itself over that listener)."""
    return {
        "listeners": f"SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"SSL://127.0.0.1:{port}",
        "listener.security.protocol.map": "SSL:SSL,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "SSL",
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(files.keystore),
        "ssl.keystore.password": files.password,
        "ssl.key.password": files.password,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": str(files.ca),
    }
