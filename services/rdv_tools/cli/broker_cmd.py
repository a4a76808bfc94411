"""`rdv broker start|stop|status|fetch`: the embedded Apache Kafka broker."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from rdv.errors import ConfigError
from rdv_tools.broker import EmbeddedBroker, default_data_dir, running_state
from rdv_tools.broker.jars import ensure_jars
from rdv_tools.cli.common import console, out

app = typer.Typer(
    help="Run a real Apache Kafka broker on this machine (KRaft, loopback).", no_args_is_help=True
)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Broker data directory; kept across restarts. "
        "Default: $RDV_HOME/broker (~/.rdv/broker).",
    ),
]


@app.command()
def start(
    port: Annotated[
        int | None, typer.Option(help="Client port. Default: the last one, else free.")
    ] = None,
    data_dir: DataDirOption = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait until it is ready.")] = 90.0,
    sasl_users_file: Annotated[
        Path | None,
        typer.Option(
            help="Require SASL/PLAIN (SASL_PLAINTEXT) from clients; one `user:password` per "
            "line. Clients then set KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM=PLAIN, "
            "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD."
        ),
    ] = None,
) -> None:
    """Start the broker in the background; return once it answers."""
    directory = data_dir or default_data_dir()
    running = running_state(directory)
    if running:
        console.print(f"Kafka already runs on {running.bootstrap} (pid {running.pid})")
        out.print(running.bootstrap)
        return
    users = read_sasl_users(sasl_users_file) if sasl_users_file else None
    broker = EmbeddedBroker(directory, port=port, sasl_users=users)
    began = time.monotonic()
    with console.status("starting Kafka ..."):
        broker.start(timeout=timeout)
    console.print(
        f"[green]Kafka is ready[/] on {broker.bootstrap} "
        f"({time.monotonic() - began:.1f} s; data in {broker.data_dir})"
    )
    out.print(broker.bootstrap)


def read_sasl_users(path: Path) -> dict[str, str]:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    users = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, colon, password = line.strip().partition(":")
        if not colon or not name or not password:
            # The line itself is not echoed: it holds a password.
            raise ConfigError(f"{path}:{number}: expected user:password")
        users[name] = password
    if not users:
        raise ConfigError(f"{path} names no users: one user:password per line")
    return users


@app.command()
def stop(data_dir: DataDirOption = None) -> None:
    """Stop the broker cleanly (SIGTERM, then SIGKILL after 30 s)."""
    broker = EmbeddedBroker(data_dir or default_data_dir())
    if broker.stop():
        console.print("[green]Kafka stopped[/]")
    else:
        console.print("no broker was running from " + str(broker.data_dir))


@app.command()
def status(data_dir: DataDirOption = None) -> None:
    """Say whether the broker runs, where, and since when. Exit 1 if it does not."""
    directory = data_dir or default_data_dir()
    state = running_state(directory)
    if state is None:
        out.print(f"not running (data dir {directory})")
        raise typer.Exit(1)
    up = time.time() - state.started_at
    out.print(
        f"running: {state.bootstrap} pid {state.pid} Kafka {state.kafka_version}, "
        f"up {up:.0f} s, data dir {directory}"
    )


@app.command()
def fetch() -> None:
    """Resolve the broker jars with Maven now (start does it when needed)."""
    out.print(str(ensure_jars()))
