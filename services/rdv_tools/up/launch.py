"""Everything `rdv up` sets up before the services start: the broker, the topics, the first
models, a rollout config and, where one can be had, a Prometheus. All of it is idempotent, so a
second `rdv up` reuses what the first made."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdv.errors import ConfigError
from rdv.kafka import topic_partitions
from rdv.kafka.local_broker import running_bootstrap
from rdv.model.registry import Registry
from rdv.rollout.config import RolloutConfig
from rdv.settings import SharedSettings, make_codec
from rdv.topics import partition_count
from rdv_tools.broker import EmbeddedBroker, default_data_dir
from rdv_tools.demo.first_models import aliased_models, first_models
from rdv_tools.demo.stack import (
    COHOST_NAME,
    ROLES,
    LocalStack,
    rollout_for,
    split_for_cohosting,
)
from rdv_tools.up import prometheus
from rdv_tools.up.plan import UpSettings, check_ports_free, metrics_ports, service_specs
from rdv_tools.up.supervisor import ServiceSpec, Supervisor

Progress = Callable[[str], None]


@dataclass
class Launch:
    settings: UpSettings
    home: Path
    bootstrap: str
    started_broker: bool
    stack: LocalStack
    models: dict[str, Path]
    roles: dict[str, str] = field(default_factory=lambda: dict(ROLES))  # model id -> role
    specs: list[ServiceSpec] = field(default_factory=list)
    prometheus_url: str | None = None

    def metrics_urls(self) -> dict[str, str]:
        return {
            s.name: f"http://127.0.0.1:{s.metrics_port}/metrics"
            for s in self.specs
            if s.metrics_port and s.name != "prometheus"
        }

    def process_of(self, model: str) -> str:
        """The supervised process that hosts `model` (its first replica)."""
        if self.settings.cohost and model in split_for_cohosting(self.models, self.roles)[0]:
            return COHOST_NAME
        return model

    def supervisor(self) -> Supervisor:
        return Supervisor(
            self.home,
            self.stack.env,
            self.specs,
            state_file=state_file(self.home),
            extra_state={
                "bootstrap": self.bootstrap,
                "started_broker": self.started_broker,
                "prometheus": self.prometheus_url,
                "registry": str(self.home / "registry"),
            },
        )


def state_file(home: Path) -> Path:
    return home / "stack.json"


def running_stack(home: Path) -> dict[str, Any] | None:
    """The state of a supervisor that is still alive, else None."""
    try:
        state: dict[str, Any] = json.loads(state_file(home).read_text())
    except FileNotFoundError:  # no stack, or its supervisor removed the file just now
        return None
    try:
        supervisor = int(state["supervisor_pid"])
    except (KeyError, ValueError):
        return None
    return state if pid_alive(supervisor) else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _bootstrap(explicit: str | None, progress: Progress) -> tuple[str, bool]:
    chosen = explicit or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if chosen:
        return chosen, False
    local = running_bootstrap(default_data_dir())
    if local:
        return local, False
    progress("starting Kafka (the first run fetches its jars with Maven)")
    return EmbeddedBroker(default_data_dir()).start().bootstrap, True


def prepare(
    home: Path,
    bootstrap: str | None,
    examples: bool,
    with_prometheus: bool,
    progress: Progress,
    settings: UpSettings | None = None,
    story: bool = True,
) -> Launch:
    """`story`: serve the four example models the story's steps name; otherwise whatever
    the registry's aliases point at, of any runtime."""
    settings = settings or UpSettings()
    if running_stack(home):
        raise ConfigError(
            f"a stack is already running from {home} (`rdv status`); `rdv down` stops it"
        )
    ports = metrics_ports(settings.metrics_port_base)
    check_ports_free(list(ports.values()))
    address, started = _bootstrap(bootstrap, progress)
    progress(f"creating topics on {address}")
    partitions = partition_count(SharedSettings().partitions, topic_partitions(address))
    stack = LocalStack(address, home, partitions=partitions, private=False)
    stack.create_topics()
    registry = Registry(home / "registry")
    models = first_models(registry, examples, progress)
    roles = dict(ROLES)
    if not story:
        models, roles = aliased_models(registry)
    launch = Launch(settings, home, address, started, stack, models, roles)
    launch.specs = service_specs(
        models, home, settings.metrics_port_base, settings.replicas, settings.cohost, roles
    )
    check_ports_free([s.metrics_port for s in launch.specs if s.metrics_port])
    if with_prometheus:
        progress("looking for a Prometheus binary")
        binary = prometheus.find_binary(fetch=True)
        if binary is not None:
            check_ports_free([settings.prometheus_port])
            targets: dict[str, list[int]] = {}
            for spec in launch.specs:
                if spec.metrics_port:
                    targets.setdefault(spec.role, []).append(spec.metrics_port)
            config = prometheus.local_config(home / "prometheus", targets)
            launch.specs.append(
                ServiceSpec(
                    "prometheus",
                    prometheus.command(binary, config, settings.prometheus_port),
                    "prometheus",
                    settings.prometheus_port,
                )
            )
            launch.prometheus_url = f"http://127.0.0.1:{settings.prometheus_port}"
    return launch


def publish_rollout(launch: Launch, comment: str, config: RolloutConfig | None = None) -> int:
    """Publish `config` (each served model in its role by default) as the next version."""
    from rdv.rollout.store import publish, read_history

    codec = make_codec()
    topic = launch.stack.topics["rendezvous.config"]
    history = read_history(launch.bootstrap, codec, topic)
    config = config or rollout_for(launch.roles, launch.settings.sla_ms)
    published = publish(
        launch.bootstrap, codec, config, history[-1] if history else None, comment, topic
    )
    return published.version


def has_rollout(launch: Launch) -> bool:
    from rdv.rollout.store import read_history

    return bool(
        read_history(launch.bootstrap, make_codec(), launch.stack.topics["rendezvous.config"])
    )
