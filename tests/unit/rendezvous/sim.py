"""A fake clock driving the decision core: events at exact times, timers fired in between."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from rdv.messages import Answer
from rdv.rendezvous.core import Action, DecisionCore, SendAnswer, SendRecord
from rdv.rendezvous.mailbox import RequestIn, ScoreIn
from rdv.rollout.config import RolloutConfig, Tier

MS = 1000
T0 = 1_700_000_000_000_000  # microseconds; requests are created at T0 unless said otherwise

CONFIG = RolloutConfig(
    champion="m@2",
    challengers=("m@3",),
    fallback="fast@1",
    canary="m@1",
    shadow=("m@4",),
    sla_ms=50,
    grace_ms=100,
    schedule=(Tier("preferred", 0), Tier("champion", 20), Tier("fallback", 35)),
    version=7,
)


def request(
    rid: str, key: str | None = None, created_us: int = T0, deadline_ms: int | None = None
) -> RequestIn:
    return RequestIn(rid, key or rid, created_us // 1000, deadline_ms, None, 0, 0)


def score(
    rid: str,
    model: str,
    value: float | None = 0.5,
    error: str | None = None,
    label: str | None = None,
) -> ScoreIn:
    return ScoreIn(rid, model, None if error else value, label, None, error, 10, 0, 0)


@dataclass
class Sim:
    config: RolloutConfig = CONFIG
    seed: int = 0
    absent_after_slas: float = 0.0
    now: int = T0
    answers: list[Answer] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.core = DecisionCore(
            self.config, random.Random(self.seed), absent_after_slas=self.absent_after_slas
        )

    def _take(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, SendAnswer):
                self.answers.append(action.answer)
            elif isinstance(action, SendRecord):
                self.records.append(action.record)

    def advance(self, to: int) -> None:
        wake = self.core.next_wakeup()
        while wake is not None and wake <= to:
            self.now = max(self.now, wake)
            self._take(self.core.on_timer(self.now))
            wake = self.core.next_wakeup()
        self.now = max(self.now, to)

    def at(self, ms: float) -> Sim:
        self.advance(T0 + int(ms * MS))
        return self

    def request(self, req: RequestIn) -> Sim:
        self._take(self.core.on_request(req, self.now))
        return self

    def score(self, s: ScoreIn) -> Sim:
        self._take(self.core.on_score(s, self.now))
        return self

    def answer_of(self, rid: str) -> Answer:
        [answer] = [a for a in self.answers if a.request_id == rid]
        return answer
