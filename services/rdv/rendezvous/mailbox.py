"""One request's mailbox: the scores that arrived, the answer, and the record it becomes."""

from __future__ import annotations

from dataclasses import dataclass, field

from rdv.messages import Answer, Candidate, Record
from rdv.rollout.config import RolloutConfig


@dataclass(frozen=True)
class RequestIn:
    request_id: str
    key: str
    created_at_ms: int
    deadline_ms: int | None
    reply_to: str | None
    partition: int
    offset: int


@dataclass(frozen=True)
class ScoreIn:
    request_id: str
    model: str  # name@version
    score: float | None
    label: str | None
    probabilities: tuple[float, ...] | None
    error: str | None
    eval_latency_us: int
    partition: int
    offset: int

    @property
    def usable(self) -> bool:
        return self.error is None and self.score is not None


@dataclass(frozen=True)
class Arrival:
    score: ScoreIn
    at_us: int


@dataclass
class Mailbox:
    request: RequestIn
    config: RolloutConfig
    preferred: str
    arrived_us: int
    deadline_us: int
    client_deadline_us: int  # when the client needed it: after this, an answer is late
    scores: dict[str, Arrival] = field(default_factory=dict)
    answer: Answer | None = None
    answered_us: int | None = None
    origin_us: int = 0  # when the SLA's clock started: the request's creation, or arrival

    def usable(self, model: str) -> ScoreIn | None:
        arrival = self.scores.get(model)
        return arrival.score if arrival and arrival.score.usable else None

    def failed(self, model: str) -> bool:
        """The model has reported, with nothing usable (an error score)."""
        arrival = self.scores.get(model)
        return arrival is not None and not arrival.score.usable

    def complete(self) -> bool:
        """Every model the config names has reported."""
        return all(m in self.scores for m in self.config.models())

    def to_record(self) -> Record:
        assert self.answer is not None and self.answered_us is not None
        config = self.config
        champion = self.usable(config.champion)
        canary = self.usable(config.canary) if config.canary else None
        candidates: list[Candidate] = []
        delta_champion: dict[str, float] = {}
        delta_canary: dict[str, float] = {}
        for model, arrival in sorted(self.scores.items()):
            s = arrival.score
            candidates.append(
                {
                    "model": model,
                    "role": config.role_of(model),
                    "score": s.score,
                    "label": s.label,
                    "error": s.error,
                    "eval_latency_us": s.eval_latency_us,
                    "arrival_latency_us": arrival.at_us - self.arrived_us,
                    "on_time": arrival.at_us <= self.answered_us,
                }
            )
            if s.usable and s.score is not None:
                if champion is not None and champion.score is not None:
                    delta_champion[model] = s.score - champion.score
                if canary is not None and canary.score is not None:
                    delta_canary[model] = s.score - canary.score
        return {
            "request_id": self.request.request_id,
            "key": self.request.key,
            "request_created_at": self.request.created_at_ms,
            "arrived_at": self.arrived_us,
            "deadline_at": self.deadline_us,
            "preferred": self.preferred,
            "config_version": config.version,
            "answer": self.answer.to_avro(),
            "candidates": candidates,
            "delta_champion": delta_champion,
            "delta_canary": delta_canary,
            "missing": [m for m in config.models() if m not in self.scores],
        }
