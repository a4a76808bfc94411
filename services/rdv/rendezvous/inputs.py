"""From consumed messages to the core's events."""

from __future__ import annotations

from typing import Any

from rdv import protocol
from rdv.kafka import Message
from rdv.rendezvous.mailbox import RequestIn, ScoreIn


def request_in(msg: Message, record: dict[str, Any]) -> RequestIn:
    return RequestIn(
        record["request_id"],
        record["key"],
        record["created_at"],
        record["deadline"],
        record["reply_to"],
        msg.partition,
        msg.offset,
    )


def undecodable_request_in(msg: Message, own_id: str | None = None) -> RequestIn:
    """A request nobody can read still gets an answer (the default), under its own id where
    that could be read (an incompatible schema), else named by its position; the workers name
    their error scores for it alike."""
    return RequestIn(
        own_id or protocol.undecodable_id(msg.topic, msg.partition, msg.offset),
        (msg.key or b"").decode(errors="replace"),
        msg.timestamp_ms,
        None,
        None,
        msg.partition,
        msg.offset,
    )


def score_in(msg: Message, record: dict[str, Any]) -> ScoreIn:
    model = record["model"]
    error = record["error"]
    return ScoreIn(
        request_id=record["request_id"],
        model=f"{model['name']}@{model['version']}",
        score=record["score"],
        label=record["label"],
        probabilities=tuple(record["probabilities"]) if record["probabilities"] else None,
        error=f"{error['code']}: {error['message']}" if error else None,
        eval_latency_us=record["eval_latency_us"],
        partition=msg.partition,
        offset=msg.offset,
    )
