"""The messages the services build and read, as types: what the code handles is checked by
mypy, and `to_avro` / `from_avro` are the one place a type meets its schema in schemas/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
