"""The worker's Kafka loop: poll a micro-batch, score it, send, and store its offsets once
the scores are delivered (the next batch is read meanwhile)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC

from rdv.codec import Codec
from rdv.errors import ConfigError
from rdv.handover import go_on_after_taking_over
from rdv.kafka import (
    Consumer,
    DeliveryError,
    KafkaSettings,
    Message,
    Producer,
    TopicPartition,
    topic_partitions,
)
from rdv.metrics import serve_metrics
from rdv.model import Scorer, load_artifact
from rdv.runtime import process_started_ms, settle_heap
from rdv.topics import DEAD_LETTERS, RESULTS
from rdv.worker.delivery import DeliveryLedger
from rdv.worker.gathering import RoleWatch, fetch_overrides
from rdv.worker.metrics import WorkerMetricFamilies, WorkerMetrics
from rdv.worker.scoring import BatchScorer, decode_batch
from rdv.worker.settings import WorkerSettings, worker_group

log = logging.getLogger(__name__)

# Batches whose scores may be in flight at once before the worker waits for the broker: enough
# to keep scoring through a round trip, few enough that a crash re-scores little.
MAX_IN_FLIGHT = 8


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
        codec = codec or Codec()
        families = WorkerMetricFamilies()
        self.hosted: list[_Hosted] = []
        for hosted in settings.hosted:
            artifact = load_artifact(hosted.model)
            mismatches = Scorer(artifact).golden_mismatches()
            if mismatches:
                raise ConfigError(
                    f"{artifact.model_id} disagrees with Spark on {len(mismatches)} "
                    f"golden rows, refusing to serve it; first: {mismatches[0]}"
                )
            if any(h.model_id == artifact.model_id for h in self.hosted):
                raise ConfigError(
                    f"{artifact.model_id} is given twice: a worker hosts each model once"
                )
            self.hosted.append(
                _Hosted(
                    artifact.model_id,
                    hosted.role,
                    BatchScorer(artifact, settings, codec, role=hosted.role),
                    WorkerMetrics(artifact.model_id, hosted.role, families),
                )
            )
        self.codec = codec
        self.registry = families.registry
        # One model: its id, as always. Several: their ids joined, which also names the
        # consumer group they share (never one of a single model's groups).
        self.model_id = "+".join(h.model_id for h in self.hosted)
        self.stopping = threading.Event()
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None

    def _start_new_at_ms(self) -> int | None:
        """Where this worker's group starts on partitions it never committed (None: the
        earliest retained request)."""
        if self.settings.from_beginning:
            return None
        if self.settings.from_time is not None:
            moment = self.settings.from_time
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return int(moment.timestamp() * 1000)
        return process_started_ms()

    def _revoked(self, partitions: list[TopicPartition]) -> None:
        # Deliver everything polled so far (its reports store the offsets), then commit: the
        # partitions' next owner starts exactly where this one stopped.
        if self._producer is not None:
            self._producer.flush()
        if self._consumer is not None:
            self._consumer.commit()

    def run(self) -> None:
        check_copartitioned(
            self.bootstrap, self.settings.requests_topic, self.settings.results_topic, self.kafka
        )
        # The models are loaded and checked: only now is the old worker asked to deliver,
        # commit and leave; its partitions and metrics port are free once it has exited.
        s = self.settings
        # Ready before the old worker stops, not with the first score: a schema's first
        # publication held the new rendezvous's first answers 0.58 s in a rolling upgrade,
        # and the producer connects meanwhile. Not transactional, it fences nobody.
        self.codec.announce(RESULTS.schema, DEAD_LETTERS.schema)
        # Scores stand alone, so they may change lanes (rdv.kafka.pace) out of order.
        producer = Producer(
            self.bootstrap,
            self.kafka,
            client_id=f"rdv-worker-{self.model_id}",
            linger_when_busy=True,
        )
        self._producer = producer
        # Before the old worker is asked to stop: the collection is off the hand-over's pause.
        settle_heap()
        if not go_on_after_taking_over(s.take_over_pid, s.take_over_timeout_s, self.stopping):
            producer.close()  # it has sent nothing
            return
        serve_metrics(self.registry, self.settings.metrics_port)
        ids = [h.model_id for h in self.hosted]
        group = self.settings.group_id or worker_group(ids)
        roles = RoleWatch(self.codec, self.bootstrap, self.kafka, s.config_topic, ids, s.gather_ms)
        try:
            self._serve(group, roles, producer)
        finally:
            # Also when the first join fails: the config reader and the producer are let go.
            producer.flush()
            if self._consumer is not None:
                self._consumer.close()
            roles.close()
            log.info("worker %s stopped", self.model_id)

    def _serve(self, group: str, roles: RoleWatch, producer: Producer) -> None:
        self._consumer = consumer = self._join(group, roles)
        ledger = DeliveryLedger(consumer.store)
        last_lag = 0.0
        labelled = self._follow_roles(roles)
        while not self.stopping.is_set():
            batch = consumer.poll_batch(self.settings.batch_max, self.settings.poll_timeout_s)
            if batch:
                self._process(batch, producer, ledger)
            producer.poll(0)
            _check(ledger)
            if roles.changed():
                # Everything read is delivered and committed first: the new consumer goes on
                # exactly where this one stopped.
                producer.flush()
                _check(ledger)
                consumer.close()
                self._consumer = consumer = self._join(group, roles)
                ledger = DeliveryLedger(consumer.store)
            if roles.version != labelled:
                labelled = self._follow_roles(roles)
            if time.monotonic() - last_lag > 5:
                last_lag = time.monotonic()
                for tp, lag in consumer.lag().items():
                    for hosted in self.hosted:
                        hosted.metrics.lag(tp.partition, lag)

    def _follow_roles(self, roles: RoleWatch) -> int:
        """Label each model's metrics with its role under the config in force, and note
        whether an answer may wait for its scores; that config's version."""
        for hosted in self.hosted:
            hosted.metrics.relabel(roles.role(hosted.model_id, hosted.started_as))
            hosted.at_once = roles.at_once(hosted.model_id)
        return roles.version

    def _join(self, group: str, roles: RoleWatch) -> Consumer:
        consumer = Consumer(
            self.bootstrap,
            group,
            [self.settings.requests_topic],
            self.kafka,
            on_revoke=self._revoked,
            client_id=f"rdv-worker-{self.model_id}",
            start_new_at_ms=self._start_new_at_ms(),
            overrides=fetch_overrides(roles.wait_ms),
        )
        log.info(
            "worker %s (%s) reading %s in group %s, %s",
            self.model_id,
            ", ".join(h.role or "no role" for h in self.settings.hosted),
            self.settings.requests_topic,
            group,
            roles.describe(),
        )
        return consumer

    def _process(self, batch: list[Message], producer: Producer, ledger: DeliveryLedger) -> None:
        decoded = decode_batch(self.codec, self._unexpired(batch))
        # Offsets are stored by the ledger once every score of this batch is delivered; a
        # failed delivery stops the worker (DeliveryError) with nothing after it stored, so
        # the next owner re-scores from there: never a skipped request. Each model's scores
        # go out as soon as it has scored, so the first model (the champion, where `rdv up`
        # co-hosts) does not wait for the others.
        pending = ledger.open(batch)
        for index, hosted in enumerate(self.hosted):
            outcome = hosted.scorer.score(decoded, dead_letter_undecodable=index == 0)
            pending.expect(len(outcome.outgoing))
            for message in outcome.outgoing:
                producer.send(message, pending.delivered, hosted.at_once)
            hosted.metrics.observe(len(batch), outcome)
        pending.seal()
        while ledger.in_flight > MAX_IN_FLIGHT:
            producer.poll(0.01)
            _check(ledger)

    def _unexpired(self, batch: list[Message]) -> list[Message]:
        """The requests still worth scoring: one created longer than `expire_ms` ago can no
        longer be answered in time, and scoring it would only put the worker further behind
        (the rendezvous answers it by fallback or default). Kafka's timestamp is the
        producer's creation time, so no decoding is needed to tell."""
        limit = self.settings.expire_ms
        if not limit:
            return batch
        oldest = time.time_ns() // 1_000_000 - limit
        fresh = [m for m in batch if m.timestamp_ms <= 0 or m.timestamp_ms >= oldest]
        if len(fresh) < len(batch):
            for hosted in self.hosted:
                hosted.metrics.skipped.inc(len(batch) - len(fresh))
        return fresh


@dataclass
class _Hosted:
    model_id: str
    started_as: str | None  # the role given at start; the config's overrides it
    scorer: BatchScorer
    metrics: WorkerMetrics
    at_once: bool = True  # may an answer wait for its scores (RoleWatch.at_once)


def _check(ledger: DeliveryLedger) -> None:
    if ledger.failure is not None:
        raise DeliveryError(f"a score was not delivered: {ledger.failure}")
