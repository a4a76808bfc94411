"""Requests sent again by `rdv replay`: what every reader derives from the marker header.

A replayed request carries the archived bytes unchanged and the header `rdv-replay` naming
the run. Every service that reads it derives the same from it, as for JSON requests: it is a
new request (its id gets the suffix `@replay:RUN`, so neither the rendezvous's dedupe of the
original nor the original's client ever meets it), it has no `reply_to`, and its times move
to when it was replayed, so its SLA runs from then as for live traffic."""

from __future__ import annotations

from typing import Any

from rdv.codec.json_input import Origin

REPLAY = "rdv-replay"


def replay_run(origin: Origin) -> str | None:
    run = origin.header(REPLAY)
    return run.decode(errors="replace") if run is not None else None


def replayed_id(request_id: str, run: str) -> str:
    return f"{request_id}@replay:{run}"


def as_replayed(record: dict[str, Any], run: str, replayed_at_ms: int) -> dict[str, Any]:
    shift = replayed_at_ms - record["created_at"] if replayed_at_ms > 0 else 0
    deadline = record.get("deadline")
    return {
        **record,
        "request_id": replayed_id(record["request_id"], run),
        "reply_to": None,
        "created_at": record["created_at"] + shift,
        "deadline": deadline + shift if deadline is not None else None,
    }
