"""The worker's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from rdv.metrics import BATCH_BUCKETS, EVAL_BUCKETS


class WorkerMetrics:
    def __init__(self, model: str, role: str | None) -> None:
        self.registry = CollectorRegistry()
        labels = {"model": model, "role": role or "none"}
        names = list(labels)
        self.scored = Counter(
            "rdv_worker_scored", "Requests scored successfully", names, registry=self.registry
        ).labels(**labels)
        self._errors = Counter(
            "rdv_worker_errors",
            "Requests answered with an error score",
            [*names, "code"],
            registry=self.registry,
        )
        self.dead_letters = Counter(
            "rdv_worker_dead_letters",
            "Messages sent to dead-letters",
            names,
            registry=self.registry,
        ).labels(**labels)
        self.skipped = Counter(
            "rdv_worker_skipped",
            "Requests not scored because they were older than RDV_WORKER_EXPIRE_MS",
            names,
            registry=self.registry,
        ).labels(**labels)
        self.eval_seconds = Histogram(
            "rdv_worker_eval_seconds",
            "Model time per micro-batch",
            names,
            buckets=EVAL_BUCKETS,
            registry=self.registry,
        ).labels(**labels)
        self.batch_size = Histogram(
            "rdv_worker_batch_size",
            "Requests per micro-batch",
            names,
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        ).labels(**labels)
        self._lag = Gauge(
            "rdv_worker_consumer_lag",
            "Requests not yet read, per partition",
            [*names, "partition"],
            registry=self.registry,
        )
        self._labels = labels

    def error(self, code: str, count: int = 1) -> None:
        self._errors.labels(**self._labels, code=code).inc(count)

    def lag(self, partition: int, value: int) -> None:
        self._lag.labels(**self._labels, partition=str(partition)).set(value)
