"""Gathered reading for a worker whose scores the rendezvous does not need at once.

A worker reads each request as soon as it is written, because the rendezvous may be waiting
for its score to answer. A shadow challenger's or the canary's score is only recorded: it may
arrive tens of milliseconds later, well inside the config's grace, and a fetch that waits to
gather several requests costs the worker one decode, one scoring call and one produce for all
of them, and the broker one fetch and one produce request. Measured at 300 requests/s with
every role (two interleaved pairs): the shadow and canary workers went from ~500 to ~155 µs of
CPU per request, the broker from ~2,800 to ~2,350, the stack from ~6,450 to ~5,400. The
fallback's score is returned only once its tier opens (35 ms into the demo's 50 ms SLA): it
gathers for at most half of that.

Roles change by config, not by restarting workers, so the worker follows the rollout topic and
reads again, gathered or not, when the config in force changes how long its models may wait."""

from __future__ import annotations

import logging
import time
from typing import Any

from rdv.codec import Codec
from rdv.errors import RendezvousError
from rdv.kafka import KafkaSettings
from rdv.kafka.reader import PartitionReader
from rdv.rollout.config import RolloutConfig
from rdv.rollout.follow import RolloutFollower

log = logging.getLogger(__name__)

GATHER_BYTES = 64 * 1024  # more than a fetch gathers in 120 ms at these rates: the wait decides
CHECK_EVERY_S = 1.0  # how often the rollout topic is asked for a newer config


def gather_wait_ms(config: RolloutConfig | None, model_ids: list[str], gather_ms: int) -> int:
    """How long a worker hosting these models may wait to gather requests: at most half the
    time until the schedule may first return one of their scores (0, read each at once, for
    the champion), or, for scores only recorded, half of what is left before the mailbox
    closes (the SLA, then the grace). Without a config: 0."""
    if config is None or gather_ms <= 0:
        return 0
    needed = [config.sla_ms + config.grace_ms]
    needed += [t for t in map(config.opens_at, model_ids) if t is not None]
    # The other half is left for scoring and the way to the rendezvous.
    return min(gather_ms, min(needed) // 2)


def role_under(config: RolloutConfig | None, model_id: str, started_as: str | None) -> str:
    """A hosted model's role under the config in force; the role it was started with while
    no config names it ("none" if it was given none)."""
    named = config.role_of(model_id) if config else "unknown"
    return named if named != "unknown" else (started_as or "none")


def fetch_overrides(wait_ms: int) -> dict[str, Any]:
    if wait_ms <= 0:
        return {}
    return {"fetch.min.bytes": GATHER_BYTES, "fetch.wait.max.ms": wait_ms}


class RoleWatch:
    """The rollout config in force for a worker's models, and how long their fetches may wait
    to gather (`wait_ms`, 0 for at once)."""

    def __init__(
        self,
        codec: Codec,
        bootstrap: str,
        kafka: KafkaSettings | None,
        topic: str,
        model_ids: list[str],
        gather_ms: int,
    ) -> None:
        self._model_ids, self._gather_ms = model_ids, gather_ms
        self._follower: RolloutFollower | None = None
        self._next_check = 0.0
        if gather_ms > 0:
            try:
                self._follower = RolloutFollower(
                    codec, PartitionReader(bootstrap, topic, 0, kafka), lambda *_: None
                )
                self._follower.catch_up()
            except RendezvousError as exc:
                log.warning(
                    "cannot follow the rollout on %s (%s): reading every request", topic, exc
                )
                self.close()  # its reader, if it was made
                self._follower = None
        self.wait_ms = gather_wait_ms(self.config, model_ids, gather_ms)

    @property
    def config(self) -> RolloutConfig | None:
        return self._follower.config if self._follower else None

    @property
    def version(self) -> int:
        """The version of the config in force (0: none)."""
        return self.config.version if self.config else 0

    def changed(self) -> bool:
        """Whether a newer config changed how the worker must read (asked at most once a
        second)."""
        now = time.monotonic()
        if self._follower is None or now < self._next_check:
            return False
        self._next_check = now + CHECK_EVERY_S
        if self._follower.read() is None:
            return False
        wait_ms = gather_wait_ms(self.config, self._model_ids, self._gather_ms)
        if wait_ms == self.wait_ms:
            return False
        self.wait_ms = wait_ms
        return True

    def role(self, model_id: str, started_as: str | None) -> str:
        return role_under(self.config, model_id, started_as)

    def at_once(self, model_id: str) -> bool:
        """Whether an answer may wait for this model's scores: if not, they may linger on
        their way (rdv.kafka.producer), as its reads may gather."""
        return gather_wait_ms(self.config, [model_id], self._gather_ms) == 0

    def describe(self) -> str:
        if not self.wait_ms:
            return "every request read at once"
        version = self.config.version if self.config else 0
        return (
            f"gathered reads (up to {self.wait_ms} ms): no model here is needed sooner under "
            f"rollout v{version}"
        )

    def close(self) -> None:
        if self._follower is not None:
            self._follower.close()
