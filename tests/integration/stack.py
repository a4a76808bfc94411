"""A whole rendezvous stack on its own topics: workers, rendezvous, one config topic."""

from __future__ import annotations

import uuid
from typing import Any

from rdv.kafka import create_topics
from rdv.rendezvous.config import RolloutConfig
from rdv.rendezvous.rollout_store import publish, read_history
from rdv.settings import make_codec
from rdv.topics import architecture_topics


class StackTopics:
    """Unique names for every topic, and the environment that points services at them."""

    def __init__(self, bootstrap: str, partitions: int = 3) -> None:
        self.bootstrap = bootstrap
        suffix = uuid.uuid4().hex[:8]
        specs = architecture_topics(partitions)
        self.names = {s.name: f"{s.name}-{suffix}" for s in specs}
        create_topics(
            bootstrap, [type(s)(self.names[s.name], s.partitions, s.config) for s in specs]
        )
        n = self.names
        self.env = {
            "RDV_WORKER_REQUESTS_TOPIC": n["requests"],
            "RDV_WORKER_RESULTS_TOPIC": n["results"],
            "RDV_WORKER_DEAD_LETTERS_TOPIC": n["dead-letters"],
            "RDV_RENDEZVOUS_REQUESTS_TOPIC": n["requests"],
            "RDV_RENDEZVOUS_RESULTS_TOPIC": n["results"],
            "RDV_RENDEZVOUS_FEEDBACK_TOPIC": n["feedback"],
            "RDV_RENDEZVOUS_ANSWERS_TOPIC": n["answers"],
            "RDV_RENDEZVOUS_LOG_TOPIC": n["rendezvous.log"],
            "RDV_RENDEZVOUS_CONFIG_TOPIC": n["rendezvous.config"],
            "RDV_RENDEZVOUS_STATE_TOPIC": n["rendezvous.state"],
            "RDV_RENDEZVOUS_DEAD_LETTERS_TOPIC": n["dead-letters"],
            "RDV_RENDEZVOUS_GROUP_ID": f"rdv-rendezvous-{suffix}",
        }

    def __getitem__(self, name: str) -> str:
        return self.names[name]

    def publish(self, config: RolloutConfig, **changes: Any) -> RolloutConfig:
        history = read_history(self.bootstrap, make_codec(), self["rendezvous.config"])
        return publish(
            self.bootstrap,
            make_codec(),
            config.evolve(**changes),
            history[-1] if history else None,
            topic=self["rendezvous.config"],
        )
