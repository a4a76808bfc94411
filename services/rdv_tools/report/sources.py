"""What a report is made of: the records (from the records archive or `rendezvous.log`), the
feedback topic and the rollout config history, as pandas frames."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from rdv.codec import Codec
from rdv.decoy.records import RECORDS_SCHEMA, record_row
from rdv.errors import ConfigError, DecodeError, RendezvousError
from rdv.kafka import Message
from rdv.kafka.admin import topic_partitions
from rdv.kafka.reader import read_partitions
from rdv.rollout.config import RolloutConfig
from rdv.rollout.store import read_history
from rdv.topics import FEEDBACK, RENDEZVOUS_CONFIG, RENDEZVOUS_LOG
from rdv.trainer.sources import latest_feedback

FEEDBACK_COLUMNS = ["request_id", "label", "value", "reward"]

log = logging.getLogger(__name__)


@dataclass
class Recorded:
    """Everything the page is built from, inside the window."""

    records: pd.DataFrame  # one row per Record, RECORDS_SCHEMA's columns
    feedback: pd.DataFrame  # request_id, label, value, reward: the last word per request
    history: list[RolloutConfig]
    source: str  # where the records came from, for the page
    missing: list[str]  # what could not be read, said on the page


def _in_window(frame: pd.DataFrame, since: datetime, until: datetime) -> pd.DataFrame:
    if frame.empty:
        return frame
    stamp = pd.to_datetime(frame["answered_at"], utc=True)
    return frame[(stamp >= since) & (stamp < until)].reset_index(drop=True)


def records_from_archive(archive: Path) -> pd.DataFrame:
    if not archive.is_dir():
        raise ConfigError(
            f"--records {archive} is not a directory: give `rdv decoy --records`'s --archive"
        )
    dataset = ds.dataset(archive, format="parquet", partitioning="hive")
    frame = dataset.to_table(columns=RECORDS_SCHEMA.names).to_pandas()
    return frame.drop_duplicates("dedupe_key") if not frame.empty else frame


def _read_topic(bootstrap: str, topic: str) -> list[Message]:
    partitions = topic_partitions(bootstrap).get(topic)
    if partitions is None:
        raise ConfigError(f"no topic {topic} on {bootstrap}")
    return read_partitions(bootstrap, topic, list(range(partitions)))


def records_from_topic(bootstrap: str, topic: str, codec: Codec) -> pd.DataFrame:
    rows = []
    arrived = time.time_ns() // 1000
    for msg in _read_topic(bootstrap, topic):
        try:
            rows.append(
                record_row(msg, codec.decode(RENDEZVOUS_LOG.schema, msg.value), None, arrived)
            )
        except DecodeError:
            continue  # the records sink archives these as undecodable; a report skips them
    # Through Arrow with the archive's schema: the same columns and timestamp types as a
    # records archive read back.
    return pa.Table.from_pylist(rows, schema=RECORDS_SCHEMA).to_pandas()


def feedback_from_topic(bootstrap: str, topic: str, codec: Codec) -> pd.DataFrame:
    latest = latest_feedback(_read_topic(bootstrap, topic), codec)
    return pd.DataFrame(list(latest.values()), columns=FEEDBACK_COLUMNS)


def gather(
    since: datetime,
    until: datetime,
    codec: Codec,
    bootstrap: str | None,
    records_dir: Path | None,
    topics: dict[str, str],
) -> Recorded:
    """The records (the archive when given, else the log topic), with feedback and config
    history from Kafka where it can be reached; what could not be read is named."""
    missing: list[str] = []
    if records_dir is not None:
        records, source = records_from_archive(records_dir), f"records archive {records_dir}"
    elif bootstrap is None:
        raise ConfigError("no records to read: give --records DIR, or a broker (--bootstrap)")
    else:
        log_topic = topics.get("log", RENDEZVOUS_LOG.name)
        records, source = records_from_topic(bootstrap, log_topic, codec), f"topic {log_topic}"
    feedback = pd.DataFrame(columns=FEEDBACK_COLUMNS)
    history: list[RolloutConfig] = []
    if bootstrap is not None:
        try:
            feedback = feedback_from_topic(bootstrap, topics.get("feedback", FEEDBACK.name), codec)
        except RendezvousError as exc:
            missing.append(f"feedback: {exc}")
        try:
            history = read_history(bootstrap, codec, topics.get("config", RENDEZVOUS_CONFIG.name))
        except RendezvousError as exc:
            missing.append(f"rollout history: {exc}")
    else:
        missing.append("feedback and rollout history: no broker given")
    return Recorded(_in_window(records, since, until), feedback, history, source, missing)
