"""`rdv broker start|stop|status|fetch`: the embedded Apache Kafka broker."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from rdv.errors import ConfigError
from rdv.kafka.local_broker import node_dirs, running_bootstrap
from rdv_tools.broker import EmbeddedBroker, default_data_dir, running_state
from rdv_tools.broker.archiving import ensure_class_archive
from rdv_tools.broker.cluster import BrokerCluster, running_nodes, stop_local
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
    tls: Annotated[
        bool,
        typer.Option(
            "--tls",
            help="Speak TLS to clients, with a CA and certificate made in <data dir>/tls. "
            "Clients then set KAFKA_SECURITY_PROTOCOL=SSL and KAFKA_SSL_CA_LOCATION.",
        ),
    ] = False,
    nodes: Annotated[
        int,
        typer.Option(
            min=1,
            max=9,
            help="Nodes, each both broker and controller, as one cluster on loopback: topics "
            "get min(3, nodes) replicas and need 2 in sync. Default: one node.",
        ),
    ] = 1,
) -> None:
    """Start the broker (or a cluster) in the background; return once it answers."""
    directory = data_dir or default_data_dir()
    running = running_bootstrap(directory)
    if running:
        console.print(f"Kafka already runs on {running}")
        out.print(running)
        return
    if nodes > 1 and (port or sasl_users_file or tls):
        raise ConfigError(
            "--port, --sasl-users-file and --tls apply to a single node: drop --nodes"
        )
    if tls and sasl_users_file:
        raise ConfigError("--tls and --sasl-users-file cannot be combined here: choose one")
    if nodes > 1:
        _start_cluster(directory, nodes, timeout)
        return
    if node_dirs(directory):
        raise ConfigError(
            f"{directory} holds a cluster: start it with its --nodes, or use another --data-dir"
        )
    users = read_sasl_users(sasl_users_file) if sasl_users_file else None
    broker = EmbeddedBroker(directory, port=port, sasl_users=users, tls=tls)
    began = time.monotonic()
    with console.status("starting Kafka ..."):
        broker.start(timeout=timeout)
    console.print(
        f"[green]Kafka is ready[/] on {broker.bootstrap} "
        f"({time.monotonic() - began:.1f} s; data in {broker.data_dir})"
    )
    files = broker.tls_files
    if files is not None:
        console.print(
            "clients speak TLS to it: export KAFKA_SECURITY_PROTOCOL=SSL "
            f"KAFKA_SSL_CA_LOCATION={files.ca}"
        )
    out.print(broker.bootstrap)


def _start_cluster(directory: Path, nodes: int, timeout: float) -> None:
    cluster = BrokerCluster(directory, nodes)
    began = time.monotonic()
    with console.status(f"starting a {nodes}-node Kafka cluster ..."):
        cluster.start(timeout=timeout)
    console.print(
        f"[green]Kafka cluster of {nodes} nodes is ready[/] on {cluster.bootstrap} "
        f"({time.monotonic() - began:.1f} s; data in {directory})"
    )
    out.print(cluster.bootstrap)


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
    """Stop the broker, or every node of a cluster, cleanly (SIGTERM, then SIGKILL after 30 s)."""
    directory = data_dir or default_data_dir()
    if stop_local(directory):
        console.print("[green]Kafka stopped[/]")
    else:
        console.print(f"no broker was running from {directory}")


@app.command()
def status(data_dir: DataDirOption = None) -> None:
    """Say whether the broker runs, where, and since when. Exit 1 if it does not."""
    directory = data_dir or default_data_dir()
    if node_dirs(directory):
        _cluster_status(directory)
        return
    state = running_state(directory)
    if state is None:
        out.print(f"not running (data dir {directory})")
        raise typer.Exit(1)
    up = time.time() - state.started_at
    out.print(
        f"running: {state.bootstrap} pid {state.pid} Kafka {state.kafka_version}, "
        f"up {up:.0f} s, data dir {directory}"
    )


def _cluster_status(directory: Path) -> None:
    nodes = node_dirs(directory)
    running = {node_id: (bootstrap, pid) for node_id, bootstrap, pid in running_nodes(directory)}
    for node_id in range(1, len(nodes) + 1):
        if node_id in running:
            bootstrap, pid = running[node_id]
            out.print(f"node {node_id}: running: {bootstrap} pid {pid}")
        else:
            out.print(f"node {node_id}: not running")
    out.print(f"{len(running)} of {len(nodes)} nodes running, data dir {directory}")
    if not running:
        raise typer.Exit(1)


@app.command()
def fetch() -> None:
    """Resolve the broker jars with Maven now (start does it when needed), and archive the
    broker's classes so that it starts faster."""
    out.print(str(ensure_jars()))
    archive = ensure_class_archive()
    if archive is not None:
        out.print(str(archive))
