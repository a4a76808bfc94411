"""Producer: idempotent, low-latency, and every delivery checked."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import Producer as _Producer

from rdv.errors import RendezvousError
from rdv.kafka.envelopes import Outgoing
from rdv.kafka.settings import PRODUCER_LATENCY_DEFAULTS, KafkaSettings

log = logging.getLogger(__name__)
DeliveryCallback = Callable[[Outgoing, str | None], None]


class DeliveryError(RendezvousError):
    """Messages that the broker did not acknowledge. Nothing they stand for may be committed."""


_HINTS = {
    KafkaError.UNKNOWN_TOPIC_OR_PART: " (create the topics with `rdv topics create`)",
    KafkaError._MSG_TIMED_OUT: " (is the broker reachable, and does the topic exist?)",
}


def _delivery_failure(topic: str, err: KafkaError) -> str:
    return f"{topic}: {err.str()}{_HINTS.get(err.code(), '')}"


class Producer:
    def __init__(
        self,
        bootstrap: str,
        settings: KafkaSettings | None = None,
        overrides: dict[str, Any] | None = None,
        client_id: str = "rdv",
    ) -> None:
        config = {
            **(settings or KafkaSettings()).client_config(bootstrap),
            **PRODUCER_LATENCY_DEFAULTS,
            "client.id": client_id,
            "logger": logging.getLogger("rdv.kafka.librdkafka"),
            **(overrides or {}),
            **(settings or KafkaSettings()).extra,  # the user's word is last
        }
        self._producer = _Producer(config)
        self._failures: list[str] = []

    def send(self, message: Outgoing, on_delivery: DeliveryCallback | None = None) -> None:
        """Queue one message; its delivery is confirmed (or reported) by the next flush()."""

        def delivered(err: KafkaError | None, _msg: Any) -> None:
            reason = None if err is None else _delivery_failure(message.topic, err)
            if reason:
                self._failures.append(reason)
            if on_delivery:
                on_delivery(message, reason)

        kwargs: dict[str, Any] = {
            "value": message.value,
            "key": message.key,
            "on_delivery": delivered,
            "headers": list(message.headers) or None,
        }
        if message.partition is not None:
            kwargs["partition"] = message.partition
        while True:
            try:
                self._producer.produce(message.topic, **kwargs)
                break
            except BufferError:
                # The local queue is full: serve delivery reports to make room, then retry.
                self._producer.poll(0.05)
            except KafkaException as exc:
                raise DeliveryError(f"cannot produce to {message.topic}: {exc}") from exc
        self._producer.poll(0)

    def poll(self, timeout: float = 0.0) -> None:
        """Serve delivery reports without waiting for all of them."""
        self._producer.poll(timeout)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything sent is acknowledged; DeliveryError if anything was not."""
        remaining = self._producer.flush(timeout)
        failures, self._failures = self._failures, []
        if remaining:
            failures.append(f"{remaining} messages still unacknowledged after {timeout:.0f} s")
        if failures:
            raise DeliveryError(f"{len(failures)} deliveries failed, first: {failures[0]}")

    def close(self, timeout: float = 30.0) -> None:
        self.flush(timeout)

    @property
    def raw(self) -> _Producer:
        """The confluent_kafka producer, for the transactional API of the rendezvous."""
        return self._producer
