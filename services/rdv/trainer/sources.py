"""Training data as the models saw it: the decoy archive joined to feedback by request id.

The archive holds features exactly as they arrived (no time-machine leaks); feedback says what
was true later. Rows the decoy could not decode are counted as bad; rows archived twice after
a crash (same dedupe key) count once; requests without feedback are not labelled, so they
are left out and counted."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from rdv.codec import Codec
from rdv.errors import DecodeError
from rdv.kafka import Consumer, Message
from rdv.topics import FEEDBACK

FEEDBACK_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("label", pa.string()),
        ("value", pa.float64()),
        ("reward", pa.float64()),
        ("created_at", pa.int64()),
    ]
)


def latest_feedback(
    messages: Iterable[Message], codec: Codec, latest: dict[str, dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """The last word per request id among feedback messages read in topic order, added to
    `latest`; undecodable ones are skipped (the rendezvous dead-letters them)."""
    latest = {} if latest is None else latest
    for msg in messages:
        try:
            fb = codec.decode(FEEDBACK.schema, msg.value, msg.content_type)
        except DecodeError:
            continue
        latest[fb["request_id"]] = {k: fb[k] for k in FEEDBACK_SCHEMA.names}
    return latest


def export_feedback(
    bootstrap: str, topic: str, out: Path, codec: Codec, idle_seconds: float = 5.0
) -> int:
    """Everything on the feedback topic now, as one Parquet file; the last word per request."""
    consumer = Consumer(
        bootstrap,
        f"rdv-feedback-export-{uuid.uuid4().hex[:8]}",
        [topic],
        overrides={"enable.auto.commit": False},
    )
    latest: dict[str, dict[str, Any]] = {}
    idle_since = time.monotonic()
    try:
        while time.monotonic() - idle_since < idle_seconds:
            batch = consumer.poll_batch(1000, 0.2)
            if batch:
                idle_since = time.monotonic()
            latest_feedback(batch, codec, latest)
    finally:
        consumer.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(list(latest.values()), schema=FEEDBACK_SCHEMA), out)
    return len(latest)


def archive_with_feedback(
    spark: Any,
    archive: Path,
    feedback: Path,
    numeric: list[str],
    categorical: list[str],
    label: str,
) -> tuple[Any, dict[str, int]]:
    """Rows with the configured features as columns and the feedback label as `label`, plus
    counts (archived, duplicates, undecodable, unlabelled) and the data range (the first and
    last broker timestamps of the archived requests), for the lineage."""
    from pyspark.sql import functions as f

    raw = spark.read.parquet(str(archive))
    archived = raw.count()
    unique = raw.dropDuplicates(["dedupe_key"])
    distinct = unique.count()
    undecodable = unique.filter(f.col("undecodable")).count()
    rows = unique.filter(~f.col("undecodable")).select(
        "request_id",
        *[f.col("numeric").getItem(n).alias(n) for n in numeric],
        *[f.col("categorical").getItem(c).alias(c) for c in categorical],
    )
    labels = spark.read.parquet(str(feedback)).select("request_id", f.col("label").alias(label))
    joined = rows.join(labels, "request_id", "inner")
    labelled = joined.count()
    first, last = unique.agg(f.min("broker_timestamp"), f.max("broker_timestamp")).first()
    counts = {
        "archived": archived,
        "duplicates": archived - distinct,
        "undecodable": undecodable,
        "unlabelled": distinct - undecodable - labelled,
        "from": str(first),  # the data range: first and last broker timestamps archived
        "to": str(last),
    }
    return joined.drop("request_id"), counts
