"""The decoy's Kafka loop: archive, write durably, then commit the offsets."""

from __future__ import annotations

import logging
import threading
import time

from prometheus_client import CollectorRegistry, Counter

from rdv.codec import Codec
from rdv.codec.replay import REPLAY
from rdv.decoy.archive import SCHEMA, Archive, archive_row
from rdv.decoy.records import RECORDS_SCHEMA, record_row
from rdv.decoy.settings import DecoySettings
from rdv.errors import DecodeError
from rdv.kafka import Consumer, KafkaSettings, Message, TopicPartition
from rdv.metrics import serve_metrics
from rdv.topics import RENDEZVOUS_LOG, REQUESTS

# What each source archives: the Avro record its messages carry, the Parquet schema of the
# archive, and the row builder. Chosen once per decoy, not per message.
SOURCES = {
    "requests": (REQUESTS.schema, SCHEMA, archive_row),
    "records": (RENDEZVOUS_LOG.schema, RECORDS_SCHEMA, record_row),
}

log = logging.getLogger(__name__)


class Decoy:
    def __init__(
        self,
        settings: DecoySettings,
        bootstrap: str,
        codec: Codec | None = None,
        kafka: KafkaSettings | None = None,
    ) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.kafka = kafka
        self.codec = codec or Codec()
        self.message_schema, parquet_schema, self.make_row = SOURCES[settings.source]
        self.archive = Archive(
            settings.archive,
            settings.instance,
            settings.roll_rows,
            settings.roll_bytes,
            settings.roll_seconds,
            parquet_schema,
        )
        self.stopping = threading.Event()
        self.registry = CollectorRegistry()
        self.archived = Counter(
            "rdv_decoy_archived",
            "Requests taken into the open segment (in memory until its file is written; "
            "rdv_decoy_durable counts those on disk)",
            ["undecodable"],
            registry=self.registry,
        )
        self.durable = Counter(
            "rdv_decoy_durable",
            "Requests on disk: in files fsynced and renamed, their offsets committed",
            registry=self.registry,
        )
        self.files = Counter("rdv_decoy_files", "Parquet files written", registry=self.registry)
        self.replayed = Counter(
            "rdv_decoy_replayed_skipped",
            "Requests sent again by `rdv replay`: not archived again as new traffic",
            registry=self.registry,
        )
        self.skips_replays = settings.source == "requests"
        self._consumer: Consumer | None = None

    def _commit_segment(self) -> None:
        files, messages = self.archive.flush()
        if self._consumer is not None and messages:
            self._consumer.store(messages)
            self._consumer.commit()
        self.files.inc(len(files))
        self.durable.inc(len(messages))
        for path in files:
            log.info("archived %s", path)

    def _revoked(self, partitions: list[TopicPartition]) -> None:
        # Rows of partitions that move away are written and committed now, so their next
        # owner starts after them instead of archiving them a second time.
        self._commit_segment()

    def run(self) -> None:
        serve_metrics(self.registry, self.settings.metrics_port)
        self._consumer = consumer = Consumer(
            self.bootstrap,
            self.settings.group,
            [self.settings.topic],
            self.kafka,
            on_revoke=self._revoked,
            client_id="rdv-decoy",
            # Offsets are committed explicitly, right after each file is durable.
            overrides={
                "enable.auto.commit": False,
                "fetch.wait.max.ms": self.settings.fetch_wait_ms,
                "fetch.min.bytes": self.settings.fetch_min_bytes,
            },
        )
        try:
            while not self.stopping.is_set():
                for msg in consumer.poll_batch(self.settings.batch_max, 0.2):
                    self._archive(msg)
                    # Checked per message, not per batch: a segment never outgrows its roll,
                    # and a crash repeats at most one segment's rows.
                    if self.archive.due():
                        self._commit_segment()
                if self.archive.due():  # rolled by time
                    self._commit_segment()
            self._commit_segment()
        finally:
            consumer.close()
            self.archive.close()

    def _archive(self, msg: Message) -> None:
        if self.skips_replays and msg.header(REPLAY) is not None:
            self.replayed.inc()
            return
        arrived_us = time.time_ns() // 1000
        try:
            record = self.codec.decode(self.message_schema, msg.value, msg.content_type, msg)
            error = None
        except DecodeError as exc:
            # Bad bytes are archived too: training needs the data exactly as models saw it.
            record, error = None, exc.reason
        self.archive.add(msg, self.make_row(msg, record, error, arrived_us))
        self.archived.labels(undecodable=str(record is None).lower()).inc()
