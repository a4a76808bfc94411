"""Decoy settings. Environment: RDV_DECOY_* (e.g. RDV_DECOY_ARCHIVE)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from rdv.runtime import default_instance
from rdv.topics import RENDEZVOUS_LOG, REQUESTS


class DecoySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RDV_DECOY_", frozen=True, extra="ignore")

    archive: Path
    instance: str = Field(default_factory=default_instance)
    # What it archives: the requests as the models saw them, or the rendezvous's records.
    source: Literal["requests", "records"] = "requests"
    group_id: str | None = None  # default: rdv-decoy, or rdv-records for the records
    requests_topic: str = REQUESTS.name
    log_topic: str = RENDEZVOUS_LOG.name
    roll_rows: int = Field(100_000, ge=1)  # a file is written once it holds this many rows,
    roll_bytes: int = Field(64 * 1024 * 1024, ge=1)  # or this many bytes of raw requests,
    roll_seconds: float = Field(30.0, gt=0)  # or its first row is this old
    batch_max: int = Field(1000, ge=1)
    # The decoy is off the answering path, so its fetches wait to fill up: at 300 requests/s
    # one fetch per request cost the broker ~270 requests/s (see docs/performance.md).
    fetch_wait_ms: int = Field(500, ge=1, le=10_000)
    fetch_min_bytes: int = Field(1024 * 1024, ge=1)
    metrics_port: int | None = None
    # Scheduling priority below the rendezvous's (`nice`, 0-19; 0 keeps it equal): see
    # rdv.runtime.yield_cpu and docs/performance.md.
    nice: int = Field(10, ge=0, le=19)

    @property
    def group(self) -> str:
        return self.group_id or ("rdv-decoy" if self.source == "requests" else "rdv-records")

    @property
    def topic(self) -> str:
        return self.requests_topic if self.source == "requests" else self.log_topic
