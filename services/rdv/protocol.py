"""What travels with the messages besides their schemas: header names, the name of a request
nobody could read, and building Request records in code. Every service, client and tool takes
them from here, so that one spelling holds across the topics."""

from __future__ import annotations

import time
import uuid
from typing import Any

# Headers. JSON requests say so; scores name their model so tools can filter without decoding;
# dead letters say why; state entries carry their status and their request's offset.
CONTENT_TYPE = "content-type"
MODEL = "rdv-model"
MODEL_NAME = "rdv-model-name"
MODEL_VERSION = "rdv-model-version"
ERROR_TYPE = "rdv-error-type"
STATE = "rdv-state"
STATE_OFFSET = "rdv-offset"


def undecodable_id(topic: str, partition: int, offset: int) -> str:
    """The request id of a request nobody can decode: its position names it, so the workers'
    error scores and the rendezvous's default answer meet in one mailbox."""
    return f"undecodable:{topic}:{partition}:{offset}"


def new_request(
    numeric: dict[str, float | None] | None = None,
    categorical: dict[str, str | None] | None = None,
    key: str | None = None,
    request_id: str | None = None,
    deadline_ms: int | None = None,
    reply_to: str | None = None,
) -> dict[str, Any]:
    """A Request record. `deadline_ms` is relative to now and becomes an absolute deadline."""
    now_ms = time.time_ns() // 1_000_000
    rid = request_id or str(uuid.uuid4())
    return {
        "request_id": rid,
        "key": key or rid,
        "created_at": now_ms,
        "deadline": now_ms + deadline_ms if deadline_ms is not None else None,
        "reply_to": reply_to,
        "features": {"numeric": dict(numeric or {}), "categorical": dict(categorical or {})},
    }
