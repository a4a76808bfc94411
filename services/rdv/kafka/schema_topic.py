"""The schemas topic as a schema book: writers publish each schema they write with, keyed by
its fingerprint; readers look up a fingerprint they do not know. Compacted, one partition:
every version ever written stays, and a read to its end is small."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from rdv.errors import RendezvousError
from rdv.kafka.admin import topic_partitions
from rdv.kafka.envelopes import Outgoing
from rdv.kafka.producer import DeliveryError, Producer
from rdv.kafka.reader import PartitionReader
from rdv.kafka.settings import KafkaSettings

log = logging.getLogger(__name__)
# A fingerprint nobody published (garbage that happens to start like Avro) must not make a
# reader read the topic for every message: at most one read per this many seconds.
REREAD_S = 1.0


class SchemaTopic:
    def __init__(self, bootstrap: str, topic: str, kafka: KafkaSettings | None = None) -> None:
        self.bootstrap, self.topic, self.kafka = bootstrap, topic, kafka
        self._known: dict[bytes, dict[str, Any]] = {}
        self._read_at = 0.0
        self._lock = threading.Lock()
        self._producer: Producer | None = None
        self._enabled: bool | None = None  # whether the topic exists, learned at first publish

    def publish(self, fingerprint: bytes, definition: dict[str, Any]) -> None:
        """Once per schema and process, at its first write; a failure is logged, not raised:
        readers with the schema in their catalog need none of this. A cluster without the
        topic (made before it existed) is told once, and not waited on for every schema."""
        if self._enabled is None:
            try:
                self._enabled = self.topic in topic_partitions(self.bootstrap, self.kafka)
            except RendezvousError:
                self._enabled = False
            if not self._enabled:
                log.warning(
                    "no topic %s: schemas are not published (run `rdv topics create`); "
                    "readers lacking a writer's schema will dead-letter its messages",
                    self.topic,
                )
        if not self._enabled:
            return
        try:
            if self._producer is None:
                self._producer = Producer(self.bootstrap, self.kafka, client_id="rdv-schemas")
            value = json.dumps(definition, sort_keys=True).encode()
            self._producer.send(Outgoing(self.topic, value, fingerprint.hex().encode()))
            self._producer.flush(10)
        except (DeliveryError, RendezvousError) as exc:
            log.warning("could not publish schema %s to %s: %s", fingerprint.hex(), self.topic, exc)

    def lookup(self, fingerprint: bytes) -> dict[str, Any] | None:
        with self._lock:
            if fingerprint not in self._known and time.monotonic() - self._read_at >= REREAD_S:
                self._read_at = time.monotonic()
                self._read()
            return self._known.get(fingerprint)

    def _read(self) -> None:
        try:
            reader = PartitionReader(self.bootstrap, self.topic, 0, self.kafka)
            try:
                messages = reader.read_to_end(timeout=5)
            finally:
                reader.close()
        except RendezvousError as exc:
            log.warning("cannot read the schemas topic %s: %s", self.topic, exc)
            return
        for msg in messages:
            try:
                fingerprint = bytes.fromhex((msg.key or b"").decode())
                definition = json.loads(msg.value or b"")
            except (ValueError, UnicodeDecodeError):
                continue  # not ours; a bad entry must not hide the good ones
            if isinstance(definition, dict):
                self._known[fingerprint] = definition
