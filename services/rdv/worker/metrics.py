"""The worker's Prometheus metrics: one registry per process, one labelled set per model it
hosts (a worker may host several, see `WorkerSettings.cohosted`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from rdv.metrics import BATCH_BUCKETS, EVAL_BUCKETS
from rdv.worker.scoring import BatchOutcome

LABELS = ["model", "role"]


class WorkerMetricFamilies:
    """The metric families of one worker process."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.scored = Counter(
            "rdv_worker_scored", "Requests scored successfully", LABELS, registry=registry
        )
        self.errors = Counter(
            "rdv_worker_errors",
            "Requests answered with an error score",
            [*LABELS, "code"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "rdv_worker_dead_letters", "Messages sent to dead-letters", LABELS, registry=registry
        )
        self.skipped = Counter(
            "rdv_worker_skipped",
            "Requests not scored because they were older than RDV_WORKER_EXPIRE_MS",
            LABELS,
            registry=registry,
        )
        self.eval_seconds = Histogram(
            "rdv_worker_eval_seconds",
            "Model time per micro-batch",
            LABELS,
            buckets=EVAL_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            "rdv_worker_batch_size",
            "Requests per micro-batch",
            LABELS,
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.lag = Gauge(
            "rdv_worker_consumer_lag",
            "Requests not yet read, per partition",
            [*LABELS, "partition"],
            registry=registry,
        )


class WorkerMetrics:
    """The metrics of one model a worker hosts, labelled with its role: the one it was started
    with until a rollout config names it, then the config's (see `relabel`)."""

    def __init__(
        self, model: str, role: str | None, families: WorkerMetricFamilies | None = None
    ) -> None:
        self.families = families = families or WorkerMetricFamilies()
        self.registry = families.registry
        self._model = model
        self._partitions: set[str] = set()  # those the lag gauge has a value for
        self._bind(role or "none")

    @property
    def role(self) -> str:
        return self._labels["role"]

    def relabel(self, role: str) -> None:
        """Count under `role` from now on: a promotion by config moves the model's series.
        Counters already counted stay under the old role (they are history); the lag gauge
        leaves it, or the old role would show a lag that no longer moves."""
        if role == self.role:
            return
        for partition in self._partitions:
            self.families.lag.remove(self._model, self.role, partition)
        self._partitions.clear()
        self._bind(role)

    def _bind(self, role: str) -> None:
        families = self.families
        self._labels = labels = {"model": self._model, "role": role}
        self.scored = families.scored.labels(**labels)
        self.dead_letters = families.dead_letters.labels(**labels)
        self.skipped = families.skipped.labels(**labels)
        self.eval_seconds = families.eval_seconds.labels(**labels)
        self.batch_size = families.batch_size.labels(**labels)

    def observe(self, batch_size: int, outcome: BatchOutcome) -> None:
        self.batch_size.observe(batch_size)
        if outcome.eval_seconds:
            self.eval_seconds.observe(outcome.eval_seconds)
        self.scored.inc(outcome.scored)
        self.dead_letters.inc(outcome.dead_letters)
        for code, count in outcome.errors.items():
            self.error(code, count)

    def error(self, code: str, count: int = 1) -> None:
        self.families.errors.labels(**self._labels, code=code).inc(count)

    def lag(self, partition: int, value: int) -> None:
        self._partitions.add(str(partition))
        self.families.lag.labels(**self._labels, partition=str(partition)).set(value)
