"""The messages the services build and read, as types checked by mypy.

The rendezvous decides on a frozen `Answer`; `to_avro` / `from_avro` are where it meets
schemas/answer.avsc. Requests, Scores and Records cross the hot paths as the codec's dicts, so
they are typed as TypedDicts: the same dicts at no cost per message, with their fields named
and checked (what fastavro reads and writes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict


class Features(TypedDict):
    numeric: dict[str, float | None]
    categorical: dict[str, str | None]


class Request(TypedDict):
    """schemas/request.avsc"""

    request_id: str
    key: str
    created_at: int  # ms
    deadline: int | None  # ms, absolute
    reply_to: str | None
    features: Features


class ModelRef(TypedDict):
    name: str
    version: str
    instance: str
    role: str | None


class ScoreError(TypedDict):
    code: str
    message: str


class Score(TypedDict):
    """schemas/score.avsc: one model's annotated result for one request."""

    request_id: str
    key: str
    model: ModelRef
    score: float | None
    label: str | None
    probabilities: list[float] | None
    error: ScoreError | None
    request_created_at: int  # ms
    received_at: int  # µs
    scored_at: int  # µs
    eval_latency_us: int
    input_partition: int
    input_offset: int


class Candidate(TypedDict):
    model: str
    role: str
    score: float | None
    label: str | None
    error: str | None
    eval_latency_us: int
    arrival_latency_us: int
    on_time: bool


class Record(TypedDict):
    """schemas/record.avsc: everything the rendezvous knows of one request, once closed."""

    request_id: str
    key: str
    request_created_at: int  # ms
    arrived_at: int  # µs
    deadline_at: int  # µs
    preferred: str
    config_version: int
    answer: dict[str, Any]  # Answer.to_avro()
    candidates: list[Candidate]
    delta_champion: dict[str, float]
    delta_canary: dict[str, float]
    missing: list[str]


@dataclass(frozen=True, slots=True)
class Answer:
    """The rendezvous's one answer to a request (schemas/answer.avsc)."""

    request_id: str
    key: str
    model: str | None  # name@version; None for the default answer
    role: str  # champion, challenger, fallback, ... or "default"
    reason: str  # why this tier answered: preferred, champion, fallback, default, late, ...
    score: float | None
    label: str | None
    probabilities: tuple[float, ...] | None
    request_created_at: int  # ms, the client's clock
    answered_at: int  # µs, the rendezvous's clock
    latency_us: int  # from the request's arrival at the rendezvous
    late: bool
    config_version: int

    def to_avro(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "key": self.key,
            "model": self.model,
            "role": self.role,
            "reason": self.reason,
            "score": self.score,
            "label": self.label,
            "probabilities": list(self.probabilities) if self.probabilities else None,
            "request_created_at": self.request_created_at,
            "answered_at": self.answered_at,
            "latency_us": self.latency_us,
            "late": self.late,
            "config_version": self.config_version,
        }

    @classmethod
    def from_avro(cls, record: dict[str, Any]) -> Answer:
        probabilities = record["probabilities"]
        return cls(
            record["request_id"],
            record["key"],
            record["model"],
            record["role"],
            record["reason"],
            record["score"],
            record["label"],
            tuple(probabilities) if probabilities else None,
            record["request_created_at"],
            record["answered_at"],
            record["latency_us"],
            record["late"],
            record["config_version"],
        )
