"""Archived requests in a time window, in the order they first arrived, each once.

The decoy's archive is Hive-partitioned by date and hour of the broker's timestamp, so the
window picks whole hour directories first and reads one hour at a time: a day of traffic is
never all in memory. Within an hour, rows are deduplicated on `dedupe_key` (a decoy restart
repeats at most one file) and sorted by broker timestamp, then position."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rdv.errors import ConfigError

ORDER = ["dedupe_key", "broker_timestamp", "partition", "offset"]
CONTENT = ["raw_key", "raw_value", "headers"]


@dataclass(frozen=True)
class ArchivedRequest:
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


def hours(archive: Path, since: datetime, until: datetime) -> list[Path]:
    """The hour directories of the archive that overlap [since, until), oldest first."""
    if not archive.is_dir():
        raise ConfigError(f"--archive {archive} is not a directory: give the decoy's --archive")
    found = []
    for directory in archive.glob("date=*/hour=*"):
        try:
            start = datetime.strptime(
                f"{directory.parent.name[5:]} {directory.name[5:]}", "%Y-%m-%d %H"
            ).replace(tzinfo=UTC)
        except ValueError:
            continue
        if start < until and start + timedelta(hours=1) > since:
            found.append((start, directory))
    return [directory for _, directory in sorted(found)]


def _hour_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.parquet") if not p.name.startswith((".", "_")))


def _hour_table(directory: Path, since: datetime, until: datetime) -> tuple[int, pa.Table]:
    """The hour's rows stored, and those to send, in order."""
    files = _hour_files(directory)
    if not files:
        return 0, pa.table({c: [] for c in CONTENT})
    table = pa.concat_tables([pq.read_table(f, columns=[*ORDER, *CONTENT]) for f in files])
    stored = table.num_rows
    stamp = table["broker_timestamp"]
    inside = pc.and_(
        pc.greater_equal(stamp, pa.scalar(since, pa.timestamp("ms", tz="UTC"))),
        pc.less(stamp, pa.scalar(until, pa.timestamp("ms", tz="UTC"))),
    )
    table = table.filter(inside)
    table = table.sort_by([(c, "ascending") for c in ORDER[1:]])
    seen: set[str] = set()
    first = []
    for index, key in enumerate(table["dedupe_key"].to_pylist()):
        if key not in seen:
            seen.add(key)
            first.append(index)
    return stored, table.take(first)


def stored_rows(archive: Path, since: datetime, until: datetime) -> int:
    """How many rows the window's hour directories hold, from the Parquet footers alone: the
    progress bar's total, an upper bound on what is sent (rows outside the window and
    duplicates are skipped)."""
    return sum(
        pq.read_metadata(f).num_rows
        for directory in hours(archive, since, until)
        for f in _hour_files(directory)
    )


def archived_requests(
    archive: Path,
    since: datetime,
    until: datetime,
    skipped: Callable[[int], None] = lambda rows: None,
) -> Iterator[ArchivedRequest]:
    """The window's requests; after each hour, `skipped` hears how many of its stored rows
    were not sent (outside the window or duplicates)."""
    for directory in hours(archive, since, until):
        stored, table = _hour_table(directory, since, until)
        for key, value, headers in zip(
            table["raw_key"].to_pylist(),
            table["raw_value"].to_pylist(),
            table["headers"].to_pylist(),
            strict=True,
        ):
            pairs = json.loads(headers).items() if headers else ()
            yield ArchivedRequest(key, value, tuple((k, v.encode()) for k, v in pairs))
        skipped(stored - table.num_rows)
