"""The decoy archive across a real broker, a crash, and Spark."""

from __future__ import annotations

import signal
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from rdv.kafka import Outgoing, Producer
from rdv_tools.broker.embedded import listening_port
from tests.integration.harness import eventually, send_requests, services

pytestmark = [pytest.mark.broker, pytest.mark.parallel]


def archived(root: Path) -> list[dict[str, Any]]:
    files = sorted(root.rglob("*.parquet"))
    return [row for f in files for row in pq.read_table(f).to_pylist()]


def wait_for_archive(root: Path, expected: set[str], timeout: float = 90) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    rows: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        rows = archived(root)
        if expected <= {r["dedupe_key"] for r in rows}:
            return rows
        time.sleep(0.5)
    return rows


def test_archive_holds_every_request_once_after_a_crash_and_spark_reads_it(
    kafka_bootstrap: str, new_topic: Callable[..., str], tmp_path: Path, spark: Any
) -> None:
    topic = new_topic(3, "requests")
    archive = tmp_path / "archive"
    count, roll = 2000, 100
    env = {"RDV_DECOY_REQUESTS_TOPIC": topic, "RDV_DECOY_GROUP_ID": f"decoy-{topic}"}
    with services(tmp_path, kafka_bootstrap, env) as launch:
        first = launch("decoy", "--archive", str(archive), "--roll-rows", str(roll))
        sent = send_requests(kafka_bootstrap, topic, count)
        deadline = time.monotonic() + 60
        while len(archived(archive)) < 300 and time.monotonic() < deadline:
            time.sleep(0.2)
        first.signal(signal.SIGKILL)
        first.wait()
        launch("decoy", "--archive", str(archive), "--roll-rows", str(roll), "--roll-seconds", "1")
        keys = {f"{topic}:{p}:{o}" for p in range(3) for o in range(count)}
        rows: list[dict[str, Any]] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            rows = archived(archive)
            if len({r["dedupe_key"] for r in rows}) >= count:
                break
            time.sleep(0.5)
    assert not list(archive.rglob(".*.tmp")), "a temporary file was left behind"
    unique = {r["dedupe_key"] for r in rows}
    assert len(unique) == count and unique <= keys
    assert {r["request_id"] for r in rows} == {r["request_id"] for r in sent}
    # Only the segment that was written but not yet committed at the kill may repeat: at most
    # `roll` rows, however many messages one poll returned.
    duplicates = sum(Counter(r["dedupe_key"] for r in rows).values()) - count
    assert duplicates <= roll
    first_row = next(r for r in rows if r["request_id"] == sent[0]["request_id"])
    assert dict(first_row["numeric"]) == sent[0]["features"]["numeric"]
    assert dict(first_row["categorical"]) == sent[0]["features"]["categorical"]
    assert first_row["raw_value"].startswith(b"\xc3\x01") and not first_row["undecodable"]

    frame = spark.read.parquet(str(archive))
    assert frame.count() == len(rows)
    assert frame.select("dedupe_key").distinct().count() == count
    assert {"date", "hour"} <= set(frame.columns)
    assert frame.filter("numeric['failed_logins'] IS NOT NULL").count() == len(rows)


def test_bad_bytes_are_archived_and_flagged(
    kafka_bootstrap: str, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    topic = new_topic(1, "requests")
    producer = Producer(kafka_bootstrap)
    producer.send(Outgoing(topic, b"\xffnot avro", b"k", headers=(("x", b"y"),)))
    producer.flush()
    env = {"RDV_DECOY_REQUESTS_TOPIC": topic, "RDV_DECOY_GROUP_ID": f"decoy-{topic}"}
    port = listening_port()
    with services(tmp_path, kafka_bootstrap, env) as launch:
        decoy = launch(
            "decoy",
            "--archive",
            str(tmp_path / "a"),
            "--roll-seconds",
            "0.5",
            "--metrics-port",
            str(port),
        )
        rows = wait_for_archive(tmp_path / "a", {f"{topic}:0:0"})

        def on_disk() -> bool:
            url = f"http://127.0.0.1:{port}/metrics"
            text = urllib.request.urlopen(url, timeout=5).read().decode()
            # Counted once its file is durable and its offset committed, not when read.
            return "rdv_decoy_durable_total 1.0" in text and (
                'rdv_decoy_archived_total{undecodable="true"} 1.0' in text
            )

        eventually(on_disk, 30, "the durable count")
        decoy.signal(signal.SIGTERM)
        assert decoy.wait() == 0
    [row] = rows
    assert row["undecodable"] and row["raw_value"] == b"\xffnot avro"
    assert row["decode_error"].startswith("unrecognised framing")
    assert row["raw_key"] == b"k" and row["headers"] == '{"x": "y"}'
    assert row["request_id"] is None
