"""Worker settings. Environment: RDV_WORKER_* (e.g. RDV_WORKER_MODEL, RDV_WORKER_ROLE)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rdv.runtime import default_instance
from rdv.topics import DEAD_LETTERS, RENDEZVOUS_CONFIG, REQUESTS, RESULTS


class HostedModel(BaseModel):
    model_config = {"frozen": True}

    model: Path
    role: str | None = None


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RDV_WORKER_", frozen=True, extra="ignore")

    model: Path
    role: str | None = None  # champion, challenger, canary, fallback: an annotation only
    # More models this process scores every request with, after `model` (JSON in
    # RDV_WORKER_COHOSTED): one fetch, one decode and one producer for all of them, at the
    # price of their isolation (they share a process, a consumer group and a fate).
    cohosted: tuple[HostedModel, ...] = ()
    instance: str = Field(default_factory=default_instance)
    group_id: str | None = None  # default: rdv-worker-<name>@<version>[+<name>@<version>...]
    batch_max: int = Field(500, ge=1, le=100_000)
    poll_timeout_s: float = Field(0.1, gt=0)
    # Requests created longer ago than this are skipped, not scored: under overload, scoring
    # requests whose answer was given long ago (by fallback or default) is what keeps a worker
    # behind. 0, the default, scores everything, so that every request's record has this
    # model's score, backlogs after a restart included.
    expire_ms: int = Field(0, ge=0)
    # Scheduling priority below the rendezvous's (`nice`, 0-19; 0 keeps it equal): see
    # rdv.runtime.yield_cpu and docs/performance.md.
    nice: int = Field(10, ge=0, le=19)
    # Where a new consumer group (a new model version) starts: by default at the requests
    # produced from when this process started, not the whole retained backlog. Backfills
    # ask for the beginning, or for a time. A group that has committed goes on from there.
    from_beginning: bool = False
    from_time: datetime | None = None
    metrics_port: int | None = None
    # A rolling upgrade's new process: it loads its models with the old one (this pid) still
    # scoring, then stops it and waits for its exit before joining the group (rdv/handover.py).
    take_over_pid: int | None = Field(None, ge=1)
    take_over_timeout_s: float = Field(10.0, gt=0)
    delay_ms: float = Field(0.0, ge=0)  # fault injection: extra latency per micro-batch
    fail_rate: float = Field(0.0, ge=0, le=1)  # fault injection: share of rows that fail
    # A worker none of whose models may answer under the rollout config in force (a shadow,
    # the canary) reads in gathered fetches, each waiting up to this long for 64 KiB, and at
    # most half the config's SLA plus grace, so that its scores still reach the record: at
    # 300 requests/s the stack's CPU per request fell by a sixth with 50 ms, and by 4-12% more
    # with 120, which also took 1.4-2.9% of a core off the idle stack (docs/performance.md).
    # 0 reads every request at once, whatever the role.
    gather_ms: int = Field(120, ge=0, le=1000)
    config_topic: str = RENDEZVOUS_CONFIG.name  # followed to know whether its models answer
    requests_topic: str = REQUESTS.name
    results_topic: str = RESULTS.name
    dead_letters_topic: str = DEAD_LETTERS.name

    @model_validator(mode="after")
    def _one_start(self) -> WorkerSettings:
        if self.from_beginning and self.from_time is not None:
            raise ValueError("give --from-beginning or --from-time, not both")
        return self

    @property
    def hosted(self) -> list[HostedModel]:
        """Every model this worker scores with, the first (`model`) first."""
        return [HostedModel(model=self.model, role=self.role), *self.cohosted]


def worker_group(model_ids: list[str]) -> str:
    """The consumer group a worker hosting these models joins by default, in hosting order:
    `rdv-worker-A` or `rdv-worker-A+B`."""
    return "rdv-worker-" + "+".join(model_ids)
