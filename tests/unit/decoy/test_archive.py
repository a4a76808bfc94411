"""The decoy's archive: requests exactly as the models saw them, in Parquet partitioned by the
broker's date and hour, written whole or not at all."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from rdv.decoy.archive import Archive, archive_row
from rdv.errors import ConfigError
from rdv.kafka import Message
from rdv.protocol import new_request

# 2026-12-01 09:59:59.500 and 10:00:00.500 UTC: one second apart, two hourly partitions.
BEFORE = int(datetime(2026, 12, 1, 9, 59, 59, 500_000, tzinfo=UTC).timestamp() * 1000)
AFTER = BEFORE + 1000


def message(offset: int, timestamp_ms: int, value: bytes = b"avro") -> Message:
    headers = (("content-type", b"application/json"),)
    return Message("requests", 2, offset, b"user-1", value, headers, timestamp_ms)


def test_rows_land_in_the_hour_of_their_broker_timestamp(tmp_path: Path) -> None:
    archive = Archive(tmp_path, "decoy:1", roll_rows=100, roll_bytes=10**6, roll_seconds=60)
    request = new_request({"failed_logins": 2.0}, {"country": "FR"}, key="user-1")
    for offset, stamp in ((7, BEFORE), (8, AFTER)):
        msg = message(offset, stamp)
        archive.add(msg, archive_row(msg, request, None, arrived_us=AFTER * 1000 + 5))
    files, messages = archive.flush()
    assert [m.offset for m in messages] == [7, 8]  # what the caller may now commit
    assert [f.relative_to(tmp_path).parent.as_posix() for f in files] == [
        "date=2026-12-01/hour=09",
        "date=2026-12-01/hour=10",
    ]
    [first] = pq.read_table(files[0]).to_pylist()
    assert first["dedupe_key"] == "requests:2:7" and first["raw_key"] == b"user-1"
    assert first["request_id"] == request["request_id"] and not first["undecodable"]
    assert dict(first["numeric"]) == {"failed_logins": 2.0}
    assert dict(first["categorical"]) == {"country": "FR"}
    assert first["headers"] == '{"content-type": "application/json"}'
    assert not list(tmp_path.rglob(".*.tmp"))  # no temporary file left behind


def test_an_undecodable_request_is_archived_with_its_bytes_and_reason(tmp_path: Path) -> None:
    archive = Archive(tmp_path, "decoy:1", roll_rows=100, roll_bytes=10**6, roll_seconds=60)
    msg = message(3, BEFORE, value=b"\x00garbage")
    archive.add(msg, archive_row(msg, None, "not Avro", arrived_us=BEFORE * 1000))
    [file], _ = archive.flush()
    [row] = pq.read_table(file).to_pylist()
    assert (row["undecodable"], row["decode_error"], row["raw_value"]) == (
        True,
        "not Avro",
        b"\x00garbage",
    )
    assert row["request_id"] is None and row["numeric"] is None


def test_a_segment_rolls_at_its_row_count_or_its_bytes(tmp_path: Path) -> None:
    by_rows = Archive(tmp_path / "a", "d", roll_rows=2, roll_bytes=10**6, roll_seconds=60)
    by_bytes = Archive(tmp_path / "b", "d", roll_rows=100, roll_bytes=20, roll_seconds=60)
    assert not by_rows.due() and not by_bytes.due()  # nothing to write
    msg = message(0, BEFORE, value=b"x" * 16)
    for archive in (by_rows, by_bytes):
        archive.add(msg, archive_row(msg, None, "x", arrived_us=0))
    assert not by_rows.due() and by_bytes.due()  # 16 + 6 key bytes >= 20
    by_rows.add(msg, archive_row(msg, None, "x", arrived_us=0))
    assert by_rows.due()


def test_a_new_instance_removes_what_a_dead_one_left_mid_write(tmp_path: Path) -> None:
    dead = Archive(tmp_path, "decoy:1", roll_rows=100, roll_bytes=10**6, roll_seconds=60)
    (dead.staging / ".part-1-decoy-1-000001.parquet.tmp").write_bytes(b"half a file")
    dead.close()  # what the kernel does for a process killed mid-write
    alive = Archive(tmp_path, "decoy:2", roll_rows=100, roll_bytes=10**6, roll_seconds=60)
    (alive.staging / ".part-2-decoy-2-000001.parquet.tmp").write_bytes(b"being written")

    Archive(tmp_path, "decoy:3", roll_rows=100, roll_bytes=10**6, roll_seconds=60)

    left = sorted(p.name for p in tmp_path.rglob(".*.tmp"))
    assert left == [".part-2-decoy-2-000001.parquet.tmp"]  # a live writer's file is kept


def test_two_live_decoys_may_not_share_an_instance_name(tmp_path: Path) -> None:
    Archive(tmp_path, "decoy:1", roll_rows=100, roll_bytes=10**6, roll_seconds=60)
    with pytest.raises(ConfigError, match="RDV_DECOY_INSTANCE"):
        Archive(tmp_path, "decoy:1", roll_rows=100, roll_bytes=10**6, roll_seconds=60)
