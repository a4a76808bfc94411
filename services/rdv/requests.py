"""Building Request records in code."""

from __future__ import annotations

import time
import uuid
from typing import Any


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
