"""The decision core: (mailboxes, event, clock) -> actions. Pure and deterministic given its
random source: no Kafka, no wall clock; the service feeds it events and the time.

Times are microseconds on the rendezvous's clock; `now` comes with every event.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections import OrderedDict
from dataclasses import dataclass

from rdv.messages import Answer, Record
from rdv.rendezvous.absence import Absence
from rdv.rendezvous.mailbox import Arrival, Mailbox, RequestIn, ScoreIn
from rdv.rendezvous.traffic import Posteriors, preferred_model
from rdv.rollout.config import RolloutConfig

REASONS = {
    "preferred": "preferred",
    "champion": "champion",
    "challenger": "challenger",
    "fallback": "fallback",
}


@dataclass(frozen=True)
class SendAnswer:
    answer: Answer
    partition: int
    reply_to: str | None
    offset: int  # of the request: where it would be read again after a crash


@dataclass(frozen=True)
class SendRecord:
    record: Record
    answer: Answer  # the one the record holds, for the state entry
    partition: int
    offset: int


@dataclass(frozen=True)
class Quality:
    """What feedback says of one model's score on one request."""

    model: str
    correct: bool | None
    log_loss: float | None
    answered: bool  # this model's score was the answer


Action = SendAnswer | SendRecord


@dataclass(frozen=True)
class Reevaluate:
    """Look at a mailbox again: a tier opens, the deadline comes, or it is time to close."""

    request_id: str


@dataclass(frozen=True)
class ForgetOrphans:
    """Drop scores whose request never came, once they are `orphan_ttl_ms` old."""

    request_id: str


Timer = Reevaluate | ForgetOrphans


# What a closed request leaves behind, enough to join feedback and to drop replays: the model
# whose score was the answer (None for the default), the request's partition (feedback on it
# is evidence of that partition), and the models with usable scores, their scores and labels.
# Tuples of atoms, not an object holding dicts: CPython's collector stops tracking such tuples
# after one pass, and a rendezvous remembers 100,000 closed requests. As objects they made
# every full collection traverse them all (22-28 ms for 100,000 here; full collections of
# 30-60 ms of CPU in the rendezvous under load, answers held behind them).
Closed = tuple[str | None, int, tuple[str, ...], tuple[float | None, ...], tuple[str | None, ...]]


class DecisionCore:
    def __init__(
        self,
        config: RolloutConfig,
        rng: random.Random | None = None,
        late_tolerance_ms: int = 1000,
        orphan_ttl_ms: int = 30_000,
        memory: int = 100_000,
        margin_ms: int = 0,
        absent_after_slas: float = 0.0,
    ) -> None:
        self.config = config
        # A model silent for this many SLAs while requests waited for it is absent (dead,
        # stopped, restarting): its tiers stop holding answers back. 0 turns it off.
        self.absence = Absence(absent_after_slas, config.sla_ms)
        # The default answer is decided this long before the client's deadline, so that it
        # still reaches the client inside the SLA.
        self.margin_us = margin_ms * 1000
        self.rng = rng or random.Random()
        self.late_tolerance_us = late_tolerance_ms * 1000
        self.orphan_ttl_us = orphan_ttl_ms * 1000
        self.memory = memory
        self.mailboxes: dict[str, Mailbox] = {}
        self.orphans: dict[str, list[Arrival]] = {}
        self.closed: OrderedDict[str, Closed] = OrderedDict()  # for feedback and dedupe
        self.posteriors = Posteriors()
        self._timers: list[tuple[int, int, Timer]] = []
        self._sequence = itertools.count()

    # -- events -----------------------------------------------------------------------------
    def on_config(self, config: RolloutConfig) -> None:
        """New requests follow the new config; open mailboxes keep the one they started with."""
        self.config = config
        self.absence.sla_is(config.sla_ms)

    def on_request(self, request: RequestIn, now: int) -> list[Action]:
        if request.request_id in self.mailboxes or request.request_id in self.closed:
            return []  # the same request read twice (a producer retry, a replay): one answer
        mailbox = self._open(request, now)
        for arrival in self.orphans.pop(request.request_id, []):
            mailbox.scores.setdefault(arrival.score.model, arrival)
            self.absence.heard(arrival.score.model, request.partition, now)
        return self._evaluate(mailbox, now)

    def restore(self, request: RequestIn, answer: Answer, now: int) -> list[Action]:
        """Re-open a mailbox that was answered before a crash: it collects scores and writes
        its record, but never answers again."""
        if request.request_id in self.mailboxes or request.request_id in self.closed:
            return []
        mailbox = self._open(request, now)
        mailbox.answer, mailbox.answered_us = answer, now
        return self._evaluate(mailbox, now)

    def on_score(self, score: ScoreIn, now: int) -> list[Action]:
        self.absence.heard(score.model, score.partition, now)
        mailbox = self.mailboxes.get(score.request_id)
        if mailbox is None:
            if score.request_id not in self.closed:
                # The score outran its request (another partition of the consumer was ahead).
                self.orphans.setdefault(score.request_id, []).append(Arrival(score, now))
                self._schedule(now + self.orphan_ttl_us, ForgetOrphans(score.request_id))
            return []
        previous = mailbox.scores.get(score.model)
        if previous is not None and (previous.score.usable or not score.usable):
            return []  # a duplicate (worker retry or replay): the first usable one counts
        mailbox.scores[score.model] = Arrival(score, now)
        return self._evaluate(mailbox, now)

    def on_timer(self, now: int) -> list[Action]:
        actions: list[Action] = []
        while self._timers and self._timers[0][0] <= now:
            _, _, timer = heapq.heappop(self._timers)
            if isinstance(timer, ForgetOrphans):
                arrivals = self.orphans.get(timer.request_id)
                if arrivals and all(now - a.at_us >= self.orphan_ttl_us for a in arrivals):
                    del self.orphans[timer.request_id]
            elif timer.request_id in self.mailboxes:
                actions += self._evaluate(self.mailboxes[timer.request_id], now)
        return actions

    def next_wakeup(self) -> int | None:
        return self._timers[0][0] if self._timers else None

    def on_feedback(
        self, request_id: str, label: str | None, value: float | None, reward: float | None
    ) -> list[Quality]:
        seen = self.closed.get(request_id)
        if seen is None:
            return []
        answered, partition, models, scored, labelled = seen
        labels = dict(zip(models, labelled, strict=True))
        if reward is None and label is not None and answered is not None:
            reward = 1.0 if labels.get(answered) == label else 0.0
        if reward is not None and answered is not None:
            self.posteriors.update(answered, reward, partition)
        outcomes = []
        for model, score in zip(models, scored, strict=True):
            correct = None if label is None else labels.get(model) == label
            loss = None
            if value is not None and score is not None and value in (0.0, 1.0):
                p = min(1 - 1e-15, max(1e-15, score))
                loss = -math.log(p if value == 1.0 else 1 - p)
            outcomes.append(Quality(model, correct, loss, model == answered))
        return outcomes

    # -- the rule ---------------------------------------------------------------------------
    def _open(self, request: RequestIn, now: int) -> Mailbox:
        config = self.config
        sla_us = config.sla_ms * 1000
        client_deadline = request.created_at_ms * 1000 + sla_us
        if request.deadline_ms is not None:
            client_deadline = min(client_deadline, request.deadline_ms * 1000)
        # The SLA is the client's: it runs from the request's creation, so time spent in
        # Kafka before this read counts, and tiers open that long after creation. A creation
        # time ahead of our clock counts as now. A request that waited through an outage
        # (past its deadline by more than the late tolerance) is decided by the rules from
        # now on instead, and its answer is marked late.
        origin = min(now, request.created_at_ms * 1000)
        stale = now > client_deadline + self.late_tolerance_us
        if stale:
            origin, deadline = now, now + sla_us
        else:
            deadline = min(origin + sla_us, client_deadline) - self.margin_us
        mailbox = Mailbox(
            request,
            config,
            preferred_model(config, request.key, self.posteriors, self.rng),
            arrived_us=now,
            deadline_us=deadline,
            client_deadline_us=client_deadline,
            origin_us=origin,
        )
        self.mailboxes[request.request_id] = mailbox
        self.absence.opened(request.request_id, request.partition, now)
        return mailbox

    def _evaluate(self, mailbox: Mailbox, now: int) -> list[Action]:
        actions: list[Action] = []
        if mailbox.answer is None:
            answer = self._choose(mailbox, now)
            if answer is not None:
                mailbox.answer, mailbox.answered_us = answer, now
                actions.append(
                    SendAnswer(
                        answer,
                        mailbox.request.partition,
                        mailbox.request.reply_to,
                        mailbox.request.offset,
                    )
                )
            else:
                self._schedule(
                    self._next_opening(mailbox, now), Reevaluate(mailbox.request.request_id)
                )
                return actions
        assert mailbox.answered_us is not None
        closes = max(mailbox.answered_us, mailbox.deadline_us) + mailbox.config.grace_ms * 1000
        if now >= closes or mailbox.complete():
            actions.append(self._close(mailbox))
        else:
            self._schedule(closes, Reevaluate(mailbox.request.request_id))
        return actions

    def _choose(self, mailbox: Mailbox, now: int) -> Answer | None:
        config = mailbox.config
        elapsed_ms = (now - mailbox.origin_us) / 1000
        # A tier also opens once every model of the tiers before it has reported nothing
        # usable or is absent: waiting for its time would only spend the client's SLA (a
        # champion that refuses a request's features will not score it later, nor will one
        # that has been silent for several SLAs).
        exhausted = True
        for tier in config.schedule:
            models = config.tier_models(tier.use, mailbox.preferred)
            if tier.after_ms <= elapsed_ms or exhausted:
                for model in models:
                    score = mailbox.usable(model)
                    if score is not None:
                        reason = REASONS.get(tier.use, "pinned")
                        return self._answer(mailbox, now, model, reason, score)
            exhausted = exhausted and all(
                mailbox.failed(model) or self.absence.absent(model, mailbox.request.partition, now)
                for model in models
            )
        if now >= mailbox.deadline_us or exhausted:
            return self._answer(mailbox, now, None, "default", None)
        return None

    def _next_opening(self, mailbox: Mailbox, now: int) -> int:
        elapsed_ms = (now - mailbox.origin_us) / 1000
        openings = [
            mailbox.origin_us + t.after_ms * 1000
            for t in mailbox.config.schedule
            if t.after_ms > elapsed_ms
        ]
        return min([*openings, mailbox.deadline_us])

    def _answer(
        self, mailbox: Mailbox, now: int, model: str | None, reason: str, score: ScoreIn | None
    ) -> Answer:
        config = mailbox.config
        late = now > mailbox.client_deadline_us + self.late_tolerance_us
        return Answer(
            request_id=mailbox.request.request_id,
            key=mailbox.request.key,
            model=model,
            role=config.role_of(model) if model else "default",
            reason="late" if late else reason,
            score=score.score if score else config.default_score,
            label=score.label if score else config.default_label,
            probabilities=score.probabilities if score and score.probabilities else None,
            request_created_at=mailbox.request.created_at_ms,
            answered_at=now,
            latency_us=now - mailbox.arrived_us,
            late=late,
            config_version=config.version,
        )

    def _close(self, mailbox: Mailbox) -> SendRecord:
        request_id = mailbox.request.request_id
        del self.mailboxes[request_id]
        self.absence.closed(request_id, mailbox.request.partition)
        assert mailbox.answer is not None
        usable = {m: a.score for m, a in mailbox.scores.items() if a.score.usable}
        self.closed[request_id] = (
            mailbox.answer.model,
            mailbox.request.partition,
            tuple(usable),
            tuple(score.score for score in usable.values()),
            tuple(score.label for score in usable.values()),
        )
        while len(self.closed) > self.memory:
            self.closed.popitem(last=False)
        return SendRecord(
            mailbox.to_record(), mailbox.answer, mailbox.request.partition, mailbox.request.offset
        )

    def _schedule(self, at: int, timer: Timer) -> None:
        heapq.heappush(self._timers, (at, next(self._sequence), timer))
