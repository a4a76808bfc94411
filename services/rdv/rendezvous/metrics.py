"""The rendezvous's Prometheus metrics (ARCHITECTURE.md: prefix rdv_, base units, buckets
centred on the SLA, no request ids in labels)."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from rdv.messages import Answer, Record
from rdv.rendezvous.core import Quality
from rdv.rendezvous.traffic import Posteriors
from rdv.tallies import Tally

# A classifier's score is a probability: tenths are enough for its quantiles on a dashboard.
SCORE_BUCKETS = tuple(round(0.1 * i, 1) for i in range(11))
DELTA_BUCKETS = (-0.5, -0.2, -0.1, -0.05, -0.02, -0.01, 0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
SLA_FRACTIONS = (0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0, 1.2, 1.5, 2.0, 5.0, 20.0)


class RendezvousMetrics:
    def __init__(self, sla_ms: int) -> None:
        r = self.registry = CollectorRegistry()
        sla = sla_ms / 1000
        buckets = tuple(round(sla * f, 6) for f in SLA_FRACTIONS)  # one bucket exactly at the SLA
        # Per answer and per record: tallies, not prometheus_client's locked metrics.
        self.answer_latency = Tally(
            "rdv_answer_latency_seconds",
            "From a request's arrival at the rendezvous to its answer",
            bounds=buckets,
            registry=r,
        )
        self.end_to_end = Tally(
            "rdv_end_to_end_latency_seconds",
            "From the request's creation (client clock) to its answer",
            bounds=buckets,
            registry=r,
        )
        self.arrival = Tally(
            "rdv_model_arrival_latency_seconds",
            "From a request's arrival to a model's score",
            ["model"],
            bounds=buckets,
            registry=r,
        )
        self.answers = Tally(
            "rdv_answers",
            "Answers by role and reason",
            ["role", "reason"],
            kind="counter",
            registry=r,
        )
        self.sla_misses = Tally(
            "rdv_sla_misses",
            "Answers decided after the SLA, counted from creation",
            kind="counter",
            registry=r,
        )
        self.defaults = Tally("rdv_default_answers", "Default answers", kind="counter", registry=r)
        self.open_mailboxes = Gauge("rdv_open_mailboxes", "Requests not yet recorded", registry=r)
        self.delta = Tally(
            "rdv_score_delta",
            "A model's score minus the reference model's on the same request",
            ["model", "against"],
            bounds=DELTA_BUCKETS,
            registry=r,
        )
        # A histogram with negative buckets exposes no _sum, so the mean comes from a summary.
        self.delta_signed = Tally(
            "rdv_score_delta_signed",
            "The same deltas, whose _sum/_count is their mean",
            ["model", "against"],
            registry=r,
        )
        # Label-free comparison: how a model agrees with the champion and the canary before
        # any feedback arrives. The windows are PromQL's (rate over 5m).
        self.delta_abs = Tally(
            "rdv_score_delta_abs",
            "Absolute score deltas, whose _sum/_count is the mean absolute delta",
            ["model", "against"],
            registry=r,
        )
        self.agreement = Tally(
            "rdv_label_agreement",
            "Requests on which a model gave the reference model's label (agrees=true) or not",
            ["model", "against", "agrees"],
            kind="counter",
            registry=r,
        )
        self.scores = Tally(
            "rdv_model_score",
            "The scores each model gave (for quantiles; a regressor's above 1 fall in +Inf)",
            ["model"],
            bounds=SCORE_BUCKETS,
            registry=r,
        )
        self.canary_psi = Gauge(
            "rdv_canary_psi",
            "PSI of the canary's recent scores against its reference window",
            registry=r,
        )
        # NaN until both windows are full: a 0 would claim "no drift" before anything is known.
        self.canary_psi.set(float("nan"))
        self.config_version = Gauge(
            "rdv_config_version", "Rollout config version in force", registry=r
        )
        self.config_rejected = Counter(
            "rdv_config_rejected", "Invalid configs found on the topic and refused", registry=r
        )
        self.dead_letters = Counter(
            "rdv_dead_letters", "Messages sent to dead-letters", ["topic"], registry=r
        )
        self.feedback = Counter("rdv_feedback", "Feedback joined to a recorded request", registry=r)
        self.correct = Counter(
            "rdv_model_correct", "Feedback labels a model got right", ["model"], registry=r
        )
        self.judged = Counter(
            "rdv_model_judged", "Feedback labels a model was judged on", ["model"], registry=r
        )
        self.log_loss = Counter(
            "rdv_model_log_loss_sum", "Sum of log loss over feedback values", ["model"], registry=r
        )
        self.log_loss_count = Counter(
            "rdv_model_log_loss_count",
            "Feedback values a model's log loss is summed over",
            ["model"],
            registry=r,
        )
        self.commit_seconds = Histogram(
            "rdv_transaction_commit_seconds",
            "Time to commit one transaction of answers, records and offsets",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25),
            registry=r,
        )
        self.producer_replaced = Counter(
            "rdv_producer_replacements",
            "Transactional producers replaced (after a lost assignment, a stuck transaction or "
            "a fatal producer error)",
            ["reason"],
            registry=r,
        )
        self.turn_messages = Histogram(
            "rdv_turn_messages",
            "Messages consumed per turn of the loop",
            buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
            registry=r,
        )
        self.thompson = Gauge(
            "rdv_thompson_mean", "Mean of a model's Beta posterior", ["model"], registry=r
        )

    def answered(self, answer: Answer, sla_ms: int) -> None:
        self.answers.labels(answer.role, answer.reason).inc()
        self.answer_latency.observe(answer.latency_us / 1e6)
        # The SLA is the client's: it runs from the request's creation, not its arrival here.
        since_created = max(0.0, answer.answered_at / 1e6 - answer.request_created_at / 1e3)
        self.end_to_end.observe(since_created)
        if since_created > sla_ms / 1000 or answer.late:
            self.sla_misses.inc()
        if answer.role == "default":
            self.defaults.inc()

    def recorded(self, record: Record) -> None:
        labels: dict[str, str | None] = {}  # by role: the reference models' labels
        for candidate in record["candidates"]:
            model = candidate["model"]
            self.arrival.labels(model).observe(candidate["arrival_latency_us"] / 1e6)
            if candidate["error"] is None and candidate["score"] is not None:
                self.scores.labels(model).observe(candidate["score"])
            if candidate["error"] is None and candidate["role"] in ("champion", "canary"):
                labels[candidate["role"]] = candidate["label"]
        for against, deltas in (
            ("champion", record["delta_champion"]),
            ("canary", record["delta_canary"]),
        ):
            for model, delta in deltas.items():
                self.delta.labels(model, against).observe(delta)
                self.delta_signed.labels(model, against).observe(delta)
                self.delta_abs.labels(model, against).observe(abs(delta))
        for candidate in record["candidates"]:
            if candidate["error"] is not None or candidate["label"] is None:
                continue
            for against, label in labels.items():
                if label is not None and candidate["role"] != against:
                    agrees = "true" if candidate["label"] == label else "false"
                    self.agreement.labels(candidate["model"], against, agrees).inc()

    def feedback_joined(self, outcomes: Sequence[Quality], posteriors: Posteriors) -> None:
        if outcomes:
            self.feedback.inc()
        for q in outcomes:
            if q.correct is not None:
                self.judged.labels(model=q.model).inc()
                if q.correct:
                    self.correct.labels(model=q.model).inc()
            if q.log_loss is not None:
                self.log_loss.labels(model=q.model).inc(q.log_loss)
                self.log_loss_count.labels(model=q.model).inc()
        self.posteriors(posteriors)

    def posteriors(self, posteriors: Posteriors) -> None:
        for model in posteriors.alpha:
            self.thompson.labels(model=model).set(posteriors.mean(model))
