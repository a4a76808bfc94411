"""Project-wide settings and where to find the Kafka cluster."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from rdv.codec import Codec
from rdv.errors import ConfigError
from rdv.kafka import KafkaSettings
from rdv.kafka.local_broker import default_data_dir, running_bootstrap
from rdv.topics import SCHEMAS_TOPIC


class SharedSettings(BaseSettings):
    """Settings every service shares. Environment: RDV_* (e.g. RDV_SCHEMA_REGISTRY_URL)."""

    # Empty is unset: compose passes `${RDV_PARTITIONS:-}` through when the user sets nothing.
    model_config = SettingsConfigDict(
        env_prefix="RDV_", frozen=True, extra="ignore", env_ignore_empty=True
    )

    schema_registry_url: str | None = None
    # Where writers publish their schemas and readers find those they lack (no registry).
    schemas_topic: str = SCHEMAS_TOPIC
    # None: the count of the topics already there, else rdv.topics.DEFAULT_PARTITIONS.
    partitions: int | None = Field(None, ge=1, le=1000)


def resolve_bootstrap(explicit: str | None = None) -> str:
    """--bootstrap, else KAFKA_BOOTSTRAP_SERVERS, else the running embedded broker."""
    if explicit:
        return explicit
    configured = KafkaSettings().bootstrap_servers
    if configured:
        return configured
    local = running_bootstrap(default_data_dir())
    if local:
        return local
    raise ConfigError(
        "no Kafka broker: start the embedded one with `rdv broker start`, "
        "or pass --bootstrap HOST:PORT, or set KAFKA_BOOTSTRAP_SERVERS"
    )


def make_codec(settings: SharedSettings | None = None, bootstrap: str | None = None) -> Codec:
    """The codec, writing Confluent framing when a schema registry is configured; otherwise,
    given the cluster, publishing and finding schemas on the schemas topic."""
    settings = settings or SharedSettings()
    if settings.schema_registry_url:
        from rdv.kafka.schema_registry import ConfluentSchemaRegistry

        return Codec(registry=ConfluentSchemaRegistry(settings.schema_registry_url))
    if bootstrap:
        from rdv.kafka.schema_topic import SchemaTopic

        return Codec(book=SchemaTopic(bootstrap, settings.schemas_topic))
    return Codec()
