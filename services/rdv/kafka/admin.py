"""Cluster checks and topic management."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    NewTopic,
    TopicMetadata,
)

from rdv.errors import ConfigError, RendezvousError
from rdv.kafka.new_client import new_client
from rdv.kafka.settings import KafkaSettings

_quiet = logging.getLogger("rdv.kafka.probe")
_quiet.setLevel(logging.CRITICAL)  # a broker still starting refuses connections; that is expected


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def _admin(
    bootstrap: str,
    settings: KafkaSettings | None,
    quiet: bool = False,
    errors: list[KafkaError] | None = None,
) -> AdminClient:
    config: dict[str, Any] = (settings or KafkaSettings()).client_config(bootstrap)
    config["logger"] = _quiet if quiet else logging.getLogger("rdv.kafka.librdkafka")
    if errors is not None:
        config["error_cb"] = errors.append
    return new_client(AdminClient, config)


def _unreachable(bootstrap: str, exc: KafkaException, errors: list[KafkaError]) -> str:
    """Why a cluster could not be reached, naming a failed login (which librdkafka reports
    only to the error callback) rather than the transport failure that follows it."""
    refused = next((e for e in errors if e.code() == KafkaError._AUTHENTICATION), None)
    if refused is not None:
        return (
            f"Kafka at {bootstrap} refused the login: {refused.str()}; check "
            "KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM"
        )
    handshake = next((e for e in errors if e.code() == KafkaError._SSL), None)
    if handshake is not None:
        return (
            f"the TLS handshake with Kafka at {bootstrap} failed: {handshake.str()}; check "
            "KAFKA_SSL_CA_LOCATION (the CA that signed the broker's certificate) and "
            "KAFKA_SECURITY_PROTOCOL"
        )
    return f"cannot reach Kafka at {bootstrap}: {exc}"


def cluster_ready(
    bootstrap: str, timeout: float = 1.0, settings: KafkaSettings | None = None
) -> bool:
    """True once a broker answers a metadata request."""
    try:
        metadata = _admin(bootstrap, settings, quiet=True).list_topics(timeout=timeout)
    except KafkaException:
        return False
    return bool(metadata.brokers)


def topic_partitions(bootstrap: str, settings: KafkaSettings | None = None) -> dict[str, int]:
    """Partition count of every topic on the cluster."""
    errors: list[KafkaError] = []
    # Quiet: a failure is raised with its reason in one line (librdkafka would log each of
    # its retries, a line every few milliseconds for a failing TLS handshake).
    admin = _admin(bootstrap, settings, quiet=True, errors=errors)
    try:
        metadata = admin.list_topics(timeout=10)
    except KafkaException as exc:
        admin.poll(0.1)  # error callbacks run only when the client is polled
        raise RendezvousError(_unreachable(bootstrap, exc, errors)) from exc
    return {name: len(t.partitions) for name, t in metadata.topics.items()}


def create_topics(
    bootstrap: str, specs: list[TopicSpec], settings: KafkaSettings | None = None
) -> dict[str, str]:
    """Create what is missing; leave what exists. Returns topic -> 'created' or 'exists'.
    An existing topic with a different partition count is an error: co-partitioning of
    requests and results depends on it."""
    existing = topic_partitions(bootstrap, settings)
    outcome: dict[str, str] = {}
    for spec in specs:
        if spec.name in existing and existing[spec.name] != spec.partitions:
            raise ConfigError(
                f"topic {spec.name} exists with {existing[spec.name]} partitions, not "
                f"{spec.partitions}: pass --partitions {existing[spec.name]} or recreate it"
            )
    missing = [s for s in specs if s.name not in existing]
    outcome.update({s.name: "exists" for s in specs if s.name in existing})
    if missing:
        admin = _admin(bootstrap, settings)  # must outlive its futures
        futures = admin.create_topics(
            [
                NewTopic(
                    s.name, num_partitions=s.partitions, replication_factor=-1, config=s.config
                )
                for s in missing
            ],
            operation_timeout=30,
        )
        for name, future in futures.items():
            try:
                future.result()
                outcome[name] = "created"
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise RendezvousError(f"cannot create topic {name}: {exc}") from exc
                outcome[name] = "exists"
        _await_leaders(admin, {s.name: s.partitions for s in missing})
    return outcome


def broker_ids(bootstrap: str, timeout: float = 1.0) -> set[int]:
    """The ids of the brokers the cluster's metadata lists (none if it cannot be reached)."""
    try:
        metadata = _admin(bootstrap, None, quiet=True).list_topics(timeout=timeout)
    except KafkaException:
        return set()
    return set(metadata.brokers)


def partition_leaders(bootstrap: str, topics: list[str]) -> dict[tuple[str, int], int]:
    """(topic, partition) -> the broker id leading it (-1 while it has none)."""
    metadata = _admin(bootstrap, None, quiet=True).list_topics(timeout=5)
    return {
        (name, p.id): p.leader
        for name in topics
        if name in metadata.topics
        for p in metadata.topics[name].partitions.values()
    }


def has_leaders(topic: TopicMetadata) -> bool:
    """The metadata names a leader for every partition of `topic` (and has no error for it)."""
    return (
        topic.error is None
        and bool(topic.partitions)
        and all(p.leader >= 0 for p in topic.partitions.values())
    )


def _await_leaders(admin: AdminClient, partitions: dict[str, int], timeout: float = 15) -> None:
    """Wait until every new partition has a leader in the metadata: created is not yet
    usable, and a reader that asks for offsets before then gets 'unknown partition'."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        topics = admin.list_topics(timeout=5).topics
        if all(
            name in topics and len(topics[name].partitions) == count and has_leaders(topics[name])
            for name, count in partitions.items()
        ):
            return
        time.sleep(0.05)


def delete_topics(bootstrap: str, names: list[str], settings: KafkaSettings | None = None) -> None:
    admin = _admin(bootstrap, settings)  # must outlive its futures
    futures = admin.delete_topics(names, operation_timeout=30)
    for future in futures.values():
        try:
            future.result()
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise


def topic_config(
    bootstrap: str, topic: str, settings: KafkaSettings | None = None, timeout: float = 10
) -> dict[str, str]:
    """The effective configuration of a topic. A topic just created on a cluster is not yet
    known to every broker (each learns it from the metadata log a little later), and
    librdkafka may ask one that does not know it: 'unknown topic' is retried until
    `timeout`, then named."""
    admin = _admin(bootstrap, settings)  # must outlive its futures
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    deadline = time.monotonic() + timeout
    while True:
        try:
            entries = admin.describe_configs([resource])[resource].result()
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise
            if time.monotonic() >= deadline:
                raise RendezvousError(f"topic {topic} does not exist at {bootstrap}") from exc
            time.sleep(0.1)
            continue
        return {name: str(entry.value) for name, entry in entries.items()}
