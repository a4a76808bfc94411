"""What `rdv up` runs: the services of the stack, their commands and metrics ports."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from rdv.errors import ConfigError
from rdv_tools.demo.stack import (
    COHOST_NAME,
    ROLES,
    cohost_args,
    replica_name,
    split_for_cohosting,
)
from rdv_tools.up.supervisor import ServiceSpec, takes_over

# Metrics port of each service: the base port plus this offset. Fixed, so that dashboards and
# scrape configs written once keep working.
PORT_OFFSETS = {
    "rendezvous": 0,
    "champion": 1,
    "challenger": 2,
    "canary": 3,
    "fallback": 4,
    "decoy": 5,
    "gateway": 6,  # the Open Inference Protocol's HTTP port, /metrics on it too
}


# Replica k > 1 of a model serves metrics on its role's port plus 10 * (k - 1).
MAX_REPLICAS = 6
REPLICA_PORT_STRIDE = 10


class UpSettings(BaseSettings):
    """`rdv up` settings. Environment: RDV_UP_*."""

    model_config = SettingsConfigDict(env_prefix="RDV_UP_", frozen=True, extra="ignore")

    metrics_port_base: int = Field(9400, ge=1024, le=65000)
    prometheus_port: int = Field(9090, ge=1024, le=65535)
    sla_ms: int = Field(50, ge=10)
    rate: float = Field(40.0, gt=0, le=5000)  # requests/s the story sends
    # Workers per model, sharing its consumer group: the partitions are split between them, and
    # one that dies has its partitions taken over by the others.
    replicas: int = Field(1, ge=1, le=MAX_REPLICAS)
    # Champion, challenger and canary in one worker process (the fallback keeps its own): one
    # fetch and decode for three models, fewer processes on the cores, at the price of their
    # isolation. docs/performance.md has what it buys.
    cohost: bool = False


def metrics_ports(base: int) -> dict[str, int]:
    return {service: base + offset for service, offset in PORT_OFFSETS.items()}


def service_specs(
    models: dict[str, Path],
    home: Path,
    base_port: int,
    replicas: int = 1,
    cohost: bool = False,
    roles: dict[str, str] = ROLES,
) -> list[ServiceSpec]:
    """`replicas` workers per model (named by model id, annotated with its role), the decoy and
    the rendezvous, each as `python -m rdv_tools.cli ...` with its metrics port. With `cohost`,
    one worker (`models`, on the champion's port) hosts every model but the fallback."""
    rdv = [sys.executable, "-m", "rdv_tools.cli"]
    ports = metrics_ports(base_port)
    specs = []
    together, apart = split_for_cohosting(models, roles) if cohost else ({}, models)
    for replica in range(1, replicas + 1):
        if together:
            args, _ = cohost_args(together, roles)
            port = ports["champion"] + REPLICA_PORT_STRIDE * (replica - 1)
            name = replica_name(COHOST_NAME, replica)
            specs.append(
                ServiceSpec(
                    name,
                    [*rdv, *args, "--metrics-port", str(port)],
                    "champion",
                    port,
                    takes_over=takes_over(args[0]),
                )
            )
        for model, artifact in apart.items():
            role = roles[model]
            port = ports[role] + REPLICA_PORT_STRIDE * (replica - 1)
            command = [*rdv, "worker", "--model", str(artifact), "--role", role]
            name = replica_name(model, replica)
            specs.append(
                ServiceSpec(
                    name,
                    [*command, "--metrics-port", str(port)],
                    role,
                    port,
                    takes_over=takes_over("worker"),
                )
            )
    archive = str(home / "archive")
    specs.append(
        ServiceSpec(
            "decoy",
            [*rdv, "decoy", "--archive", archive, "--metrics-port", str(ports["decoy"])],
            "decoy",
            ports["decoy"],
        )
    )
    specs.append(
        ServiceSpec(
            "gateway",
            [
                *rdv,
                "gateway",
                "--port",
                str(ports["gateway"]),
                "--registry",
                str(home / "registry"),
            ],
            "gateway",
            ports["gateway"],
        )
    )
    port = ports["rendezvous"]
    specs.append(
        ServiceSpec(
            "rendezvous",
            [*rdv, "rendezvous", "--metrics-port", str(port), "--instance", "rendezvous"],
            "rendezvous",
            port,
            takes_over=takes_over("rendezvous"),
        )
    )
    return specs


def check_ports_free(ports: list[int]) -> None:
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                raise ConfigError(
                    f"port {port} is in use (another `rdv up`? see `rdv status`); "
                    "set RDV_UP_METRICS_PORT_BASE or RDV_UP_PROMETHEUS_PORT to free ports"
                )
