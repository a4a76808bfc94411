"""Making a librdkafka client, where a setting it refuses is the user's to fix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from confluent_kafka import KafkaError, KafkaException

from rdv.errors import ConfigError

Client = TypeVar("Client")


def new_client(kind: Callable[[dict[str, Any]], Client], config: dict[str, Any]) -> Client:
    """`kind(config)`; a property librdkafka refuses (a name it does not know, a value out of
    range, a combination it forbids) raises one line that says where settings come from."""
    try:
        return kind(config)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if isinstance(error, KafkaError) and error.code() == KafkaError._INVALID_ARG:
            raise ConfigError(
                f"Kafka refused a client setting: {error.str()} "
                "(check KAFKA_EXTRA and the other KAFKA_* settings)"
            ) from exc
        raise
