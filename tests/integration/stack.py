"""A whole rendezvous stack on its own topics: the product's LocalStack, plus publishing."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from rdv.rollout.config import RolloutConfig
from rdv.rollout.store import publish, read_history
from rdv.settings import make_codec
from rdv_tools.demo.stack import LocalStack


class StackTopics:
    """Unique names for every topic, and the environment that points services at them."""

    def __init__(self, bootstrap: str, partitions: int = 3) -> None:
        self.bootstrap = bootstrap
        self._stack = LocalStack(
            bootstrap, Path(tempfile.mkdtemp(prefix="rdv-stack-")), partitions=partitions
        )
        self._stack.create_topics()
        self.names = self._stack.topics
        self.env = self._stack.env

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
