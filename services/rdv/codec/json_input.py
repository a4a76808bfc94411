"""Conveniences for JSON messages, so that `kcat -P` or curl can produce a request by hand.

A JSON request may leave out request_id (a UUID is made), key (the request id is used) and
created_at (now), and may give its features flat: numbers become numeric features, strings
categorical ones, null a missing numeric one.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from rdv.errors import DecodeError


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


def complete_json_record(schema_short_name: str, raw: dict[str, Any]) -> dict[str, Any]:
    if schema_short_name != "Request":
        return dict(raw)
    record = dict(raw)
    record.setdefault("request_id", str(uuid.uuid4()))
    if record.get("key") is None:
        record["key"] = record["request_id"]
    if record.get("created_at") is None:
        record["created_at"] = _now_ms()
    record.setdefault("deadline", None)
    record.setdefault("reply_to", None)
    record["features"] = split_features(record.get("features"))
    return record
