"""server.properties of the embedded single-node KRaft broker."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rdv.topics import DEFAULT_PARTITIONS
from rdv_tools.broker.tls import TlsFiles, ssl_settings


def new_cluster_id() -> str:
    """A Kafka cluster id: a random UUID in URL-safe base64 without padding, as
    `kafka-storage random-uuid` prints; made here to save a JVM start."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # One id in 64 starts with "-", which the storage tool's argument parser takes for an
        # option (Kafka's own random-uuid never makes such ids for the same reason).
        if not cluster_id.startswith("-"):
            return cluster_id


def server_properties(
    port: int,
    controller_port: int,
    log_dir: Path,
    sasl_users: Mapping[str, str] | None = None,
    node: Node | None = None,
    tls: TlsFiles | None = None,
) -> str:
    settings = server_settings(port, controller_port, log_dir, node)
    if sasl_users and tls:
        raise ValueError("SASL and TLS together are not offered by the embedded broker")
    if sasl_users:
        settings.update(sasl_plain_settings(port, controller_port, sasl_users))
    if tls:
        settings.update(ssl_settings(port, controller_port, tls))
    return "".join(f"{key}={value}\n" for key, value in settings.items())


BROKER_USER = "rdv-broker"


def sasl_plain_settings(
    port: int, controller_port: int, users: Mapping[str, str]
) -> dict[str, str]:
    """The client listener as SASL_PLAINTEXT with the PLAIN mechanism and these users (the
    broker's own user, `BROKER_USER`, among them). The controller listener stays on loopback
    without SASL: only the broker itself talks to it."""
    if BROKER_USER not in users:
        raise ValueError(f"the users must include the broker's own, {BROKER_USER!r}")
    accounts = " ".join(f'user_{name}="{password}"' for name, password in users.items())
    return {
        "listeners": f"SASL_PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
        "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "PLAIN",
        "sasl.mechanism.inter.broker.protocol": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="{BROKER_USER}" password="{users[BROKER_USER]}" {accounts};'
        ),
    }


@dataclass(frozen=True)
class Node:
    """One node of a cluster: its id, and every node's controller port (the quorum's voters)."""

    node_id: int
    controller_ports: tuple[int, ...]

    @property
    def voters(self) -> str:
        return ",".join(f"{i}@127.0.0.1:{p}" for i, p in enumerate(self.controller_ports, 1))

    @property
    def size(self) -> int:
        return len(self.controller_ports)


def server_settings(
    port: int, controller_port: int, log_dir: Path, node: Node | None = None
) -> dict[str, str]:
    node = node or Node(1, (controller_port,))
    return {
        # Every process is both broker and KRaft controller: a single node is the smallest
        # real Kafka there is, and three such nodes a cluster that survives the loss of one.
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": node.voters,
        "controller.listener.names": "CONTROLLER",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(log_dir),
        **replication_settings(node.size),
        **(FAILOVER_SETTINGS if node.size > 1 else {}),
        # Fewer internal partitions: the first consumer group and transaction start in well
        # under a second instead of creating 50 partitions each.
        "offsets.topic.num.partitions": "8",
        "transaction.state.log.num.partitions": "8",
        # Consumers join at once instead of waiting 3 s for more members.
        "group.initial.rebalance.delay.ms": "0",
        # A dead rendezvous's open transaction holds its partitions' offsets until Kafka aborts
        # it; the broker looks for timed-out transactions every 10 s by default, so the abort
        # came 10-20 s after the transaction began and a peer's takeover waited as long
        # (tests/chaos rendezvous-peer: 408 answers late against 128-166). Every second, it
        # comes within a second of the 10 s transaction timeout.
        "transaction.abort.timed.out.transaction.cleanup.interval.ms": "1000",
        # Topics come from `rdv topics create` with the partition counts the design needs;
        # a typo'd topic name must fail, not silently create a 1-partition topic.
        "auto.create.topics.enable": "false",
        # Only a topic made without a count gets this: the same as `rdv topics create`'s.
        "num.partitions": str(DEFAULT_PARTITIONS),
        # The log cleaner's buffer (128 MiB by default) lives on the heap for the broker's
        # life, and a full collection of the embedded broker's young-and-old heap takes longer
        # the more it holds (docs/performance.md, "The broker's collector, again"). 16 MiB
        # dedupes ~700,000 keys a pass, far more than the compacted topics here hold.
        "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
    }


def replication_settings(nodes: int) -> dict[str, str]:
    """Every topic, the internal ones included, on min(3, nodes) replicas; with more than one,
    a write needs two of them (producers use acks=all): one node may fail without losing an
    acknowledged message or stopping writes."""
    factor, in_sync = str(min(3, nodes)), str(2 if nodes > 1 else 1)
    return {
        "default.replication.factor": factor,
        "min.insync.replicas": in_sync,
        "offsets.topic.replication.factor": factor,
        "transaction.state.log.replication.factor": factor,
        "transaction.state.log.min.isr": in_sync,
        "share.coordinator.state.topic.replication.factor": factor,
        "share.coordinator.state.topic.min.isr": in_sync,
    }


# A crashed node is fenced, and its partitions led elsewhere, once it has missed heartbeats for
# the session timeout: 9 s by default, 3 s here, where nodes share loopback.
FAILOVER_SETTINGS = {
    "broker.session.timeout.ms": "3000",
    "broker.heartbeat.interval.ms": "500",
}


# Properties that depend on where the broker runs, not on how it behaves.
PLACEMENT = (
    "listeners",
    "advertised.listeners",
    "listener.security.protocol.map",
    "controller.quorum.voters",
    "log.dirs",
)


def container_environment() -> dict[str, str]:
    """The embedded broker's behaviour as the apache/kafka image's KAFKA_* variables
    (`a.b_c-d` is KAFKA_A_B__C___D), so a container broker behaves like the embedded one."""
    settings = server_settings(9092, 9093, Path("/var/lib/kafka/data"))
    return {
        "KAFKA_" + key.replace("_", "__").replace("-", "___").replace(".", "_").upper(): value
        for key, value in settings.items()
        if key not in PLACEMENT
    }
