"""`rdv decoy --records`: the rendezvous's records archived to Parquet across a real broker and
a crash, and read by plain Spark with no project code."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rdv.kafka import Outgoing, Producer
from rdv.messages import Answer
from tests.integration.harness import CODEC, services
from tests.integration.test_decoy import archived

pytestmark = pytest.mark.broker


def a_record(n: int) -> dict[str, Any]:
    now_us = time.time_ns() // 1000
    answer = Answer(
        request_id=f"r-{n}",
        key=f"k-{n % 7}",
        model="login-bot@2",
        role="champion",
        reason="preferred",
        score=0.25,
        label="human",
        probabilities=None,
        request_created_at=now_us // 1000 - 5,
        answered_at=now_us,
        latency_us=3_000 + n,
        late=False,
        config_version=4,
    )
    candidate = {
        "model": "login-bot@3",
        "role": "challenger",
        "score": 0.75,
        "label": "bot",
        "error": None,
        "eval_latency_us": 90,
        "arrival_latency_us": 2_500,
        "on_time": True,
    }
    return {
        "request_id": f"r-{n}",
        "key": f"k-{n % 7}",
        "request_created_at": now_us // 1000 - 5,
        "arrived_at": now_us - 4_000,
        "deadline_at": now_us + 40_000,
        "preferred": "login-bot@2",
        "config_version": 4,
        "answer": answer.to_avro(),
        "candidates": [candidate],
        "delta_champion": {"login-bot@3": 0.5},
        "delta_canary": {},
        "missing": ["login-bot@1"],
    }


def test_records_are_archived_once_through_a_crash_and_spark_reads_them(
    kafka_bootstrap: str, new_topic: Callable[..., str], tmp_path: Path, spark: Any
) -> None:
    topic = new_topic(3, "log")
    archive = tmp_path / "records"
    count, roll = 600, 50
    producer = Producer(kafka_bootstrap)
    for n in range(count):
        value = CODEC.encode("Record", a_record(n))
        producer.send(Outgoing(topic, value, f"k-{n % 7}".encode()))
    producer.send(Outgoing(topic, b"\xffnot a record", b"bad"))
    producer.flush()
    env = {"RDV_DECOY_LOG_TOPIC": topic, "RDV_DECOY_GROUP_ID": f"records-{topic}"}
    args = ("decoy", "--records", "--archive", str(archive), "--roll-rows", str(roll))
    with services(tmp_path, kafka_bootstrap, env) as launch:
        first = launch(*args)
        deadline = time.monotonic() + 60
        while len(archived(archive)) < 2 * roll and time.monotonic() < deadline:
            time.sleep(0.1)
        first.signal(signal.SIGKILL)
        first.wait()
        launch(*args, "--roll-seconds", "1")
        rows: list[dict[str, Any]] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            rows = archived(archive)
            if len({r["dedupe_key"] for r in rows}) >= count + 1:
                break
            time.sleep(0.5)
    assert len({r["dedupe_key"] for r in rows}) == count + 1
    # Only the file written but not yet committed at the kill may repeat.
    assert len(rows) - (count + 1) <= roll
    [bad] = {r["dedupe_key"]: r for r in rows if r["undecodable"]}.values()
    assert bad["raw_value"] == b"\xffnot a record" and bad["request_id"] is None

    frame = spark.read.parquet(str(archive)).dropDuplicates(["dedupe_key"])
    assert {"date", "hour"} <= set(frame.columns)
    good = frame.filter("NOT undecodable")
    assert good.count() == count
    row = good.filter("request_id = 'r-7'").collect()[0]
    assert (row["answer_model"], row["answer_reason"], row["answer_latency_us"]) == (
        "login-bot@2",
        "preferred",
        3_007,
    )
    assert row["candidates"][0]["model"] == "login-bot@3" and row["candidates"][0]["on_time"]
    assert row["delta_champion"] == {"login-bot@3": 0.5} and row["missing"] == ["login-bot@1"]
    # Plain Spark SQL over the archive, as an analyst would write it.
    agreement = good.selectExpr(
        "avg(CASE WHEN candidates[0].label = answer_label THEN 1.0 ELSE 0.0 END) AS same"
    ).collect()[0]["same"]
    assert agreement == 0.0
