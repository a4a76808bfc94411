"""Typed envelopes: what services see of Kafka messages, instead of confluent_kafka objects."""

from __future__ import annotations

from dataclasses import dataclass, field

from rdv import protocol

Headers = tuple[tuple[str, bytes | None], ...]


@dataclass(frozen=True, slots=True)
class Message:
    """A message as consumed: its bytes and where it came from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers = ()
    timestamp_ms: int = 0

    def header(self, name: str) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def content_type(self) -> str | None:
        """The `content-type` header (JSON requests carry application/json), if any."""
        value = self.header(protocol.CONTENT_TYPE)
        return value.decode(errors="replace") if value else None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to produce. `partition=None` lets the key choose the partition."""

    topic: str
    value: bytes | None
    key: bytes | None = None
    headers: Headers = field(default_factory=tuple)
    partition: int | None = None


@dataclass(frozen=True, slots=True)
class TopicPartition:
    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class Offset:
    """A consumed position to commit: the next offset to read in a partition."""

    topic: str
    partition: int
    offset: int
