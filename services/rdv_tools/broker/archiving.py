"""The class archive's one training start: a throwaway broker that starts, takes a topic and a
message, and writes the classes it loaded as it stops (rdv_tools.broker.class_archive)."""

from __future__ import annotations

import logging
import sys
import tempfile
from pathlib import Path

from rdv.errors import RendezvousError
from rdv.kafka import Outgoing, Producer, TopicSpec, create_topics
from rdv_tools.broker.class_archive import archive_path, install, java_runtime
from rdv_tools.broker.embedded import EmbeddedBroker
from rdv_tools.broker.jars import ensure_jars
from rdv_tools.cache_lock import cache_lock

log = logging.getLogger(__name__)


def ensure_class_archive(quiet: bool = False) -> Path | None:
    """The archive of the broker's classes for this JDK, made now if missing (~15 s, once).
    None if the JVM wrote none: brokers then start as they did without it."""
    libs = ensure_jars(quiet)
    archive = archive_path(libs, java_runtime())
    with cache_lock("kafka-classes"):
        if archive.is_file():
            return archive
        if not quiet:
            print(
                "Archiving the Kafka broker's classes for faster starts (once) ...",
                file=sys.stderr,
                flush=True,
            )
        partial = archive.with_name(archive.name + ".partial")
        partial.unlink(missing_ok=True)
        data_dir = Path(tempfile.mkdtemp(prefix="rdv-kafka-classes-"))
        broker = EmbeddedBroker(data_dir, owned=True, ephemeral=True, dump_classes_to=partial)
        broker.start()
        try:
            _exercise(broker.bootstrap)
        except RendezvousError as exc:  # the archive holds less; the start's classes are in
            log.warning("the class archive's training broker took no message: %s", exc)
        finally:
            # The JVM writes the archive as it exits (~5 s here): a SIGKILL would lose it.
            broker.stop(timeout=120)
        if install(partial, archive):
            return archive
        log.warning("the JVM wrote no class archive; brokers start without one")
        return None


def _exercise(bootstrap: str) -> None:
    """What every use of a broker does first: create a topic, write to it."""
    create_topics(bootstrap, [TopicSpec("rdv-class-archive", 1)])
    producer = Producer(bootstrap, client_id="rdv-class-archive")
    producer.send(Outgoing("rdv-class-archive", b"{}"))
    producer.flush()
    producer.close()
