"""Conveniences for JSON messages, so that `kcat -P` or curl can produce a request by hand.

A JSON request may leave out request_id, key and created_at, and may give its features flat:
numbers become numeric features, strings categorical ones, null a missing numeric one.

Every service that reads a request derives what was left out from where the message sits, so
all of them derive the same: request_id is `topic:partition:offset`, key is the Kafka key (the
request id when there is none) and created_at the Kafka timestamp. A worker's score and the
rendezvous's mailbox then name the request alike, and the archive keeps the producer's time.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Protocol

from rdv.errors import DecodeError


class Origin(Protocol):
    """Where a message was read: rdv.kafka.Message is one."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def timestamp_ms(self) -> int: ...
    def header(self, name: str) -> bytes | None: ...


def position_id(topic: str, partition: int, offset: int) -> str:
    return f"{topic}:{partition}:{offset}"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _numeric(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DecodeError(f"numeric feature {name!r} must be a number or null, not {value!r}")
    return float(value)


def _categorical(name: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise DecodeError(f"categorical feature {name!r} must be a string or null, not {value!r}")


def split_features(raw: Any) -> dict[str, dict[str, Any]]:
    """Features as a Request holds them, from a structured or a flat mapping."""
    if raw is None:
        return {"numeric": {}, "categorical": {}}
    if not isinstance(raw, dict):
        raise DecodeError("features must be an object")
    structured = (
        bool(raw)
        and set(raw) <= {"numeric", "categorical"}
        and all(isinstance(v, dict) for v in raw.values())
    )
    if structured:
        return {
            "numeric": {k: _numeric(k, v) for k, v in raw.get("numeric", {}).items()},
            "categorical": {k: _categorical(k, v) for k, v in raw.get("categorical", {}).items()},
        }
    numeric: dict[str, float | None] = {}
    categorical: dict[str, str | None] = {}
    for name, value in raw.items():
        if isinstance(value, str):
            categorical[name] = value
        else:
            numeric[name] = _numeric(name, value)
    return {"numeric": numeric, "categorical": categorical}


def complete_json_record(
    schema_short_name: str, raw: dict[str, Any], origin: Origin | None = None
) -> dict[str, Any]:
    """The record with what a producer may leave out filled in. Without an origin (`rdv send`
    reading JSON before it produces) the one reader there is makes a UUID."""
    if schema_short_name != "Request":
        return dict(raw)
    record = dict(raw)
    if record.get("request_id") is None:
        record["request_id"] = (
            position_id(origin.topic, origin.partition, origin.offset)
            if origin is not None
            else str(uuid.uuid4())
        )
    if record.get("key") is None:
        kafka_key = origin.key if origin is not None else None
        record["key"] = kafka_key.decode(errors="replace") if kafka_key else record["request_id"]
    if record.get("created_at") is None:
        stamped = origin.timestamp_ms if origin is not None else 0
        record["created_at"] = stamped if stamped > 0 else _now_ms()
    record.setdefault("deadline", None)
    record.setdefault("reply_to", None)
    record["features"] = split_features(record.get("features"))
    return record
