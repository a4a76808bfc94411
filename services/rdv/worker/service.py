"""The worker's Kafka loop: poll a micro-batch, score it, deliver, then store the offsets."""

from __future__ import annotations

import logging
import signal
import threading
import time

from rdv.codec import Codec
from rdv.errors import ConfigError
from rdv.kafka import (
    Consumer,
    KafkaSettings,
    Message,
    Producer,
    TopicPartition,
    topic_partitions,
)
from rdv.metrics import serve_metrics
from rdv.model import Scorer, load_artifact
from rdv.worker.metrics import WorkerMetrics
from rdv.worker.scoring import BatchScorer
from rdv.worker.settings import WorkerSettings

log = logging.getLogger(__name__)


def check_copartitioned(
    bootstrap: str, requests: str, results: str, kafka: KafkaSettings | None = None
) -> None:
    counts = topic_partitions(bootstrap, kafka)
    for topic in (requests, results):
        if topic not in counts:
            raise ConfigError(f"topic {topic} does not exist: run `rdv topics create`")
    if counts[requests] != counts[results]:
        raise ConfigError(
            f"{requests} has {counts[requests]} partitions but {results} has "
            f"{counts[results]}: they must match (recreate them with one count)"
        )


class Worker:
    def __init__(
        self,
        settings: WorkerSettings,
        bootstrap: str,
        codec: Codec | None = None,
        kafka: KafkaSettings | None = None,
    ) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.kafka = kafka
        artifact = load_artifact(settings.model)
        mismatches = Scorer(artifact).golden_mismatches()
        if mismatches:
            raise ConfigError(
                f"{artifact.model_id} disagrees with Spark on {len(mismatches)} "
                f"golden rows, refusing to serve it; first: {mismatches[0]}"
            )
        self.batch_scorer = BatchScorer(artifact, settings, codec or Codec())
        self.model_id = artifact.model_id
        self.metrics = WorkerMetrics(self.model_id, settings.role)
        self.stopping = threading.Event()
        self._consumer: Consumer | None = None

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT finish the batch in hand, deliver it, commit, then exit."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())

    def _revoked(self, partitions: list[TopicPartition]) -> None:
        # Everything polled so far is delivered and stored (the loop is synchronous), so
        # commit now: the partitions' next owner starts exactly where this one stopped.
        if self._consumer is not None:
            self._consumer.commit()

    def run(self) -> None:
        check_copartitioned(
            self.bootstrap, self.settings.requests_topic, self.settings.results_topic, self.kafka
        )
        serve_metrics(self.metrics.registry, self.settings.metrics_port)
        group = self.settings.group_id or f"rdv-worker-{self.model_id}"
        producer = Producer(self.bootstrap, self.kafka, client_id=f"rdv-worker-{self.model_id}")
        self._consumer = consumer = Consumer(
            self.bootstrap,
            group,
            [self.settings.requests_topic],
            self.kafka,
            on_revoke=self._revoked,
            client_id=f"rdv-worker-{self.model_id}",
        )
        log.info(
            "worker %s (%s) reading %s in group %s",
            self.model_id,
            self.settings.role,
            self.settings.requests_topic,
            group,
        )
        last_lag = 0.0
        try:
            while not self.stopping.is_set():
                batch = consumer.poll_batch(self.settings.batch_max, self.settings.poll_timeout_s)
                if batch:
                    self._process(batch, producer, consumer)
                if time.monotonic() - last_lag > 5:
                    last_lag = time.monotonic()
                    for tp, lag in consumer.lag().items():
                        self.metrics.lag(tp.partition, lag)
        finally:
            producer.flush()
            consumer.close()
            log.info("worker %s stopped", self.model_id)

    def _process(self, batch: list[Message], producer: Producer, consumer: Consumer) -> None:
        outcome = self.batch_scorer.handle(batch)
        for message in outcome.outgoing:
            producer.send(message)
        producer.flush()  # raises DeliveryError: then nothing below runs, nothing is stored
        consumer.store(batch)
        m = self.metrics
        m.batch_size.observe(len(batch))
        if outcome.eval_seconds:
            m.eval_seconds.observe(outcome.eval_seconds)
        m.scored.inc(outcome.scored)
        m.dead_letters.inc(outcome.dead_letters)
        for code, count in outcome.errors.items():
            m.error(code, count)
