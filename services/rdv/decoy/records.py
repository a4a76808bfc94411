"""Rows of the records archive: `rendezvous.log` as Parquet, one row per Record, with the
archive's durability rule (`rdv decoy --records`).

A Record's nesting is kept where Spark and pandas read it as is (the candidates as a list of
structs, the deltas as maps) and flattened where a query would otherwise dig (the answer's
fields are columns of their own). Times are timestamps, so that a plain `spark.read.parquet`
needs no project code to make sense of them."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from rdv.decoy.archive import ORIGIN, origin
from rdv.kafka import Message

CANDIDATE = pa.struct(
    [
        pa.field("model", pa.string()),
        pa.field("role", pa.string()),
        pa.field("score", pa.float64()),
        pa.field("label", pa.string()),
        pa.field("error", pa.string()),
        pa.field("eval_latency_us", pa.int64()),
        pa.field("arrival_latency_us", pa.int64()),
        pa.field("on_time", pa.bool_()),
    ]
)

RECORDS_SCHEMA = pa.schema(
    [
        *ORIGIN,  # arrived_at: at the sink
        pa.field("undecodable", pa.bool_(), nullable=False),
        pa.field("decode_error", pa.string()),
        pa.field("raw_value", pa.binary()),  # only for an undecodable record
        pa.field("request_id", pa.string()),
        pa.field("key", pa.string()),
        pa.field("request_created_at", pa.timestamp("ms", tz="UTC")),
        pa.field("rendezvous_arrived_at", pa.timestamp("us", tz="UTC")),
        pa.field("deadline_at", pa.timestamp("us", tz="UTC")),
        pa.field("preferred", pa.string()),
        pa.field("config_version", pa.int64()),
        pa.field("answer_model", pa.string()),
        pa.field("answer_role", pa.string()),
        pa.field("answer_reason", pa.string()),
        pa.field("answer_score", pa.float64()),
        pa.field("answer_label", pa.string()),
        pa.field("answer_latency_us", pa.int64()),
        pa.field("answer_late", pa.bool_()),
        pa.field("answered_at", pa.timestamp("us", tz="UTC")),
        pa.field("candidates", pa.list_(CANDIDATE)),
        pa.field("delta_champion", pa.map_(pa.string(), pa.float64())),
        pa.field("delta_canary", pa.map_(pa.string(), pa.float64())),
        pa.field("missing", pa.list_(pa.string())),
    ]
)


def record_row(
    msg: Message, record: dict[str, Any] | None, error: str | None, arrived_us: int
) -> dict[str, Any]:
    row: dict[str, Any] = {
        **origin(msg, arrived_us),
        "undecodable": record is None,
        "decode_error": error,
        "raw_value": msg.value if record is None else None,
    }
    if record is None:
        return row
    answer = record["answer"]
    row.update(
        {
            "request_id": record["request_id"],
            "key": record["key"],
            "request_created_at": record["request_created_at"],
            "rendezvous_arrived_at": record["arrived_at"],
            "deadline_at": record["deadline_at"],
            "preferred": record["preferred"],
            "config_version": record["config_version"],
            "answer_model": answer["model"],
            "answer_role": answer["role"],
            "answer_reason": answer["reason"],
            "answer_score": answer["score"],
            "answer_label": answer["label"],
            "answer_latency_us": answer["latency_us"],
            "answer_late": answer["late"],
            "answered_at": answer["answered_at"],
            "candidates": record["candidates"],
            "delta_champion": list(record["delta_champion"].items()),
            "delta_canary": list(record["delta_canary"].items()),
            "missing": record["missing"],
        }
    )
    return row
