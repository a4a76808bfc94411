"""Parquet files of requests exactly as the models saw them, partitioned by date and hour.

Rows are buffered per segment and written as one file per (date, hour) partition when the
segment rolls. A file is written under a temporary name in the instance's own staging
directory, fsynced, renamed into its partition and the partition fsynced: a reader never sees
half a file, and once `flush` returns the rows are on disk, so the caller may commit the
offsets they came from.

A process killed mid-write leaves its temporary behind. Each instance holds an flock on its
staging directory while it lives; a starting instance removes the staging directories whose
lock it can take, because their owner is gone (the kernel drops the lock of a dead process,
however it died). Spark and pyarrow skip `_staging`: readers never see the temporaries.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from rdv.errors import ConfigError
from rdv.kafka import Message

# Where a row came from, first in every archive's schema: the dedupe key finds a row written
# twice (a restart repeats at most one file), the timestamps place it in its date and hour.
ORIGIN = [
    pa.field("dedupe_key", pa.string(), nullable=False),  # topic:partition:offset
    pa.field("topic", pa.string(), nullable=False),
    pa.field("partition", pa.int32(), nullable=False),
    pa.field("offset", pa.int64(), nullable=False),
    pa.field("broker_timestamp", pa.timestamp("ms", tz="UTC")),
    pa.field("arrived_at", pa.timestamp("us", tz="UTC"), nullable=False),
]

SCHEMA = pa.schema(
    [
        *ORIGIN,
        pa.field("raw_key", pa.binary()),
        pa.field("raw_value", pa.binary()),
        pa.field("headers", pa.string()),  # JSON object; values decoded as UTF-8 with replacement
        pa.field("undecodable", pa.bool_(), nullable=False),
        pa.field("decode_error", pa.string()),
        pa.field("request_id", pa.string()),
        pa.field("key", pa.string()),
        pa.field("created_at", pa.timestamp("ms", tz="UTC")),
        pa.field("deadline", pa.timestamp("ms", tz="UTC")),
        pa.field("reply_to", pa.string()),
        pa.field("numeric", pa.map_(pa.string(), pa.float64())),
        pa.field("categorical", pa.map_(pa.string(), pa.string())),
    ]
)


def origin(msg: Message, arrived_us: int) -> dict[str, Any]:
    """The ORIGIN columns of a row."""
    return {
        "dedupe_key": f"{msg.topic}:{msg.partition}:{msg.offset}",
        "topic": msg.topic,
        "partition": msg.partition,
        "offset": msg.offset,
        "broker_timestamp": msg.timestamp_ms if msg.timestamp_ms > 0 else None,
        "arrived_at": arrived_us,
    }


def archive_row(
    msg: Message, record: dict[str, Any] | None, error: str | None, arrived_us: int
) -> dict[str, Any]:
    features = (record or {}).get("features") or {}
    return {
        **origin(msg, arrived_us),
        "raw_key": msg.key,
        "raw_value": msg.value,
        "headers": json.dumps({k: (v or b"").decode(errors="replace") for k, v in msg.headers})
        if msg.headers
        else None,
        "undecodable": record is None,
        "decode_error": error,
        "request_id": record["request_id"] if record else None,
        "key": record["key"] if record else None,
        "created_at": record["created_at"] if record else None,
        "deadline": record["deadline"] if record else None,
        "reply_to": record["reply_to"] if record else None,
        "numeric": list(features.get("numeric", {}).items()) if record else None,
        "categorical": list(features.get("categorical", {}).items()) if record else None,
    }


def _partition_of(row: dict[str, Any]) -> str:
    # The broker's timestamp, not the arrival time: a row re-read after a crash lands in the
    # same partition as its first copy, so the dedupe key finds both in one place.
    millis = row["broker_timestamp"] or row["arrived_at"] // 1000
    moment = datetime.fromtimestamp(millis / 1000, tz=UTC)
    return f"date={moment:%Y-%m-%d}/hour={moment:%H}"


@dataclass
class Segment:
    rows: list[dict[str, Any]] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    raw_bytes: int = 0
    opened: float = 0.0


class Archive:
    def __init__(
        self,
        root: Path,
        instance: str,
        roll_rows: int,
        roll_bytes: int,
        roll_seconds: float,
        schema: pa.Schema = SCHEMA,
    ) -> None:
        self.root = root
        self.schema = schema
        self.prefix = "".join(c if c.isalnum() else "-" for c in instance)
        self.roll_rows, self.roll_bytes, self.roll_seconds = roll_rows, roll_bytes, roll_seconds
        self.segment = Segment()
        self._sequence = 0
        staging_root = root / STAGING
        staging_root.mkdir(parents=True, exist_ok=True)
        _sweep_abandoned(staging_root)
        self.staging = staging_root / self.prefix
        self.staging.mkdir(exist_ok=True)
        self._lock = _hold_lock(staging_root / f"{self.prefix}.lock")
        if self._lock is None:
            raise ConfigError(
                f"another live decoy uses the instance name {instance!r} on {root}: "
                "give each decoy its own RDV_DECOY_INSTANCE"
            )

    def close(self) -> None:
        """Give up the staging directory; it is empty unless a write was cut short."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def add(self, msg: Message, row: dict[str, Any]) -> None:
        if not self.segment.rows:
            self.segment.opened = time.monotonic()
        self.segment.rows.append(row)
        self.segment.messages.append(msg)
        self.segment.raw_bytes += len(msg.value or b"") + len(msg.key or b"")

    def due(self) -> bool:
        s = self.segment
        return bool(s.rows) and (
            len(s.rows) >= self.roll_rows
            or s.raw_bytes >= self.roll_bytes
            or time.monotonic() - s.opened >= self.roll_seconds
        )

    def flush(self) -> tuple[list[Path], list[Message]]:
        """Write the open segment durably; return the files and the messages they cover."""
        segment, self.segment = self.segment, Segment()
        by_partition: dict[str, list[dict[str, Any]]] = {}
        for row in segment.rows:
            by_partition.setdefault(_partition_of(row), []).append(row)
        files = [self._write(part, rows) for part, rows in sorted(by_partition.items())]
        return files, segment.messages

    def _write(self, partition: str, rows: list[dict[str, Any]]) -> Path:
        directory = self.root / partition
        directory.mkdir(parents=True, exist_ok=True)
        self._sequence += 1
        name = f"part-{time.time_ns()}-{self.prefix}-{self._sequence:06d}.parquet"
        temporary, final = self.staging / f".{name}.tmp", directory / name
        table = pa.Table.from_pylist(rows, schema=self.schema)
        with open(temporary, "wb") as handle:
            pq.write_table(table, handle, compression="zstd")
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(temporary, final)
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)  # the rename itself must survive a power cut
        finally:
            os.close(descriptor)
        return final


STAGING = "_staging"


def _hold_lock(path: Path) -> int | None:
    """An exclusive flock on `path`, held until the descriptor closes; None if another has it."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor


def _sweep_abandoned(staging_root: Path) -> None:
    for lock_path in staging_root.glob("*.lock"):
        descriptor = _hold_lock(lock_path)
        if descriptor is None:
            continue  # its owner is alive and may be mid-write
        try:
            shutil.rmtree(staging_root / lock_path.stem, ignore_errors=True)
            lock_path.unlink(missing_ok=True)
        finally:
            os.close(descriptor)
