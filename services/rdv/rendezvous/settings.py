"""Rendezvous service settings. Environment: RDV_RENDEZVOUS_*."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rdv.runtime import default_instance
from rdv.topics import (
    ANSWERS,
    DEAD_LETTERS,
    FEEDBACK,
    RENDEZVOUS_CONFIG,
    RENDEZVOUS_LOG,
    RENDEZVOUS_STATE,
    REQUESTS,
    RESULTS,
)


class RendezvousServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RDV_RENDEZVOUS_", frozen=True, extra="ignore")

    instance: str = Field(default_factory=default_instance)
    group_id: str = "rdv-rendezvous"
    metrics_port: int | None = None
    late_tolerance_ms: int = Field(1000, ge=0)  # an answer this far past the deadline is late
    # The SLA runs from the request's creation; the default answer is decided this long
    # before it ends, the time an answer takes to reach its client (measured here: ~1-3 ms).
    answer_margin_ms: int = Field(5, ge=0)
    # A model that has scored nothing on a partition for this many SLAs while a request there
    # waited is taken as absent (killed, stopped, restarting): its tiers stop holding answers
    # back, so the fallback answers as soon as it scores instead of at its tier. Its next
    # score there ends that. Off (0) by default: a rendezvous that stalls itself (a starved
    # machine) reads every model's scores late and can take a healthy one as absent
    # (docs/reliability.md, "A model that goes silent").
    absent_after_slas: float = Field(0.0, ge=0)
    # How often the open transaction (exactly_once) or the consumed offsets (at_least_once)
    # commit; read_committed readers see answers at the next commit. While a commit is in
    # flight librdkafka takes no record, so every answer decided meanwhile waits for its end
    # (10-50 ms on a warm broker, 100-300 ms on a fresh one): at Kafka Streams' 100 ms that
    # held back most answers of a fresh stack and cost clients their SLA (docs/performance.md).
    commit_interval_ms: int = Field(1000, ge=1)
    # exactly_once: a transaction this instance leaves open when it dies is aborted by Kafka
    # after this long, and until then any instance that takes its partitions reads nothing
    # there (a transaction holding the group's offsets makes them unstable to every new
    # member). librdkafka's default is 60 s; Kafka Streams uses 10 s. It also bounds how long
    # a transaction rides out a broker outage before it is aborted and redone.
    transaction_timeout_ms: int = Field(10_000, ge=1000)
    # exactly_once: answers, records, state and offsets in Kafka transactions (a
    # read_committed consumer sees each answer once, across crashes). at_least_once: the same
    # writes without transactions, visible at once, but a crash may repeat some answers
    # (same request id, so clients can drop repeats). See docs/reliability.md.
    delivery: Literal["exactly_once", "at_least_once"] = "exactly_once"
    batch_max: int = Field(1000, ge=1)
    # The rendezvous's fetches: answered as soon as `fetch_min_bytes` wait on the broker, or
    # after `fetch_wait_ms`. Five scores follow every request, and with one byte each arrival
    # is a fetch of its own; waiting a few milliseconds for more costs the broker and this
    # process fewer fetches under load, each hop that much latency at low rates, and an idle
    # stack a fetch every `fetch_wait_ms` (docs/performance.md).
    fetch_wait_ms: int = Field(500, ge=1, le=10_000)
    fetch_min_bytes: int = Field(1, ge=1, le=100 * 1024 * 1024)
    # Closed requests remembered for joining feedback and dropping repeats; about 1.2 KB each
    # (rdv bench soak: 80 MB at start, 206 MB once 100,000 are held), oldest forgotten first.
    memory: int = Field(100_000, ge=100)
    # Canary drift: PSI of the latest `drift_window` canary scores against the first
    # `drift_reference` ones.
    drift_reference: int = Field(1000, ge=10)
    drift_window: int = Field(1000, ge=100)
    # A rendezvous running under this instance's name that this process replaces: it is asked
    # to stop only once this one is ready to open its producer (see rdv/handover.py),
    # and given this long to commit and exit.
    take_over_pid: int | None = Field(None, ge=1)
    take_over_timeout_s: float = Field(10.0, gt=0)
    requests_topic: str = REQUESTS.name
    results_topic: str = RESULTS.name
    feedback_topic: str = FEEDBACK.name
    answers_topic: str = ANSWERS.name
    log_topic: str = RENDEZVOUS_LOG.name
    config_topic: str = RENDEZVOUS_CONFIG.name
    state_topic: str = RENDEZVOUS_STATE.name
    dead_letters_topic: str = DEAD_LETTERS.name

    @field_validator("transaction_timeout_ms")
    @classmethod
    def _outlasts_a_commit_interval(cls, timeout_ms: int, info: ValidationInfo) -> int:
        # A transaction stays open a whole commit interval: one that outlived its timeout
        # would be aborted by Kafka every time, and no answer would ever be committed.
        interval = info.data.get("commit_interval_ms")
        if interval is not None and timeout_ms <= interval:
            raise ValueError(
                f"must be longer than the commit interval ({interval} ms, "
                "RDV_RENDEZVOUS_COMMIT_INTERVAL_MS): raise the one or lower the other"
            )
        return timeout_ms

    @property
    def named(self) -> bool:
        """The instance was given a name (RDV_RENDEZVOUS_INSTANCE, --instance), not host:pid:
        it is expected back under that name after a restart, so it joins its group as a static
        member (group.instance.id) and takes its partitions back at once, without waiting out
        the session timeout of the process it replaces."""
        return "instance" in self.model_fields_set
