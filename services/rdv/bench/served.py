"""The stack a benchmark drives: a fresh set of private topics on the given broker, the
example models, the rendezvous and (with every model) the decoy, and a client ready to time.

`models="all"` is the demo's rollout (champion, challenger, canary, fallback, and the decoy);
`models="champion"` is the champion alone behind the rendezvous, the least Rendezvous can be."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rdv.client import RendezvousClient
from rdv.rendezvous.config import RolloutConfig
from rdv.rendezvous.rollout_store import publish
from rdv.settings import make_codec
from rdv.stack import LocalStack, example_config, example_models

CHAMPION = "login-bot@2"
MODEL_SETS = ("all", "champion")


def rollout(models: str, sla_ms: int) -> RolloutConfig:
    if models == "all":
        return example_config(sla_ms)
    return RolloutConfig(champion=CHAMPION, sla_ms=sla_ms)


@dataclass
class Served:
    stack: LocalStack
    client: RendezvousClient
    models: str
    config: RolloutConfig  # as published, with its version

    def roll_out(self, sla_ms: int, comment: str) -> RolloutConfig:
        """Publish the same rollout with another SLA; the new config, versioned."""
        topic = self.stack.topics["rendezvous.config"]
        self.config = publish(
            self.stack.bootstrap,
            make_codec(),
            rollout(self.models, sla_ms),
            self.config,
            comment,
            topic,
        )
        return self.config

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.stack.processes.items() if p.poll() is None}


@contextlib.contextmanager
def served_stack(
    bootstrap: str,
    workdir: Path,
    sla_ms: int,
    delivery: str = "exactly_once",
    partitions: int = 6,
    models: str = "all",
    progress: Callable[[str], None] = lambda _: None,
) -> Iterator[Served]:
    from rdv.bench.e2e import warm_up

    if models not in MODEL_SETS:
        raise ValueError(f"models must be one of {MODEL_SETS}, not {models!r}")
    stack = LocalStack(
        bootstrap,
        workdir,
        partitions=partitions,
        extra_env={"RDV_RENDEZVOUS_DELIVERY": delivery},
    )
    stack.create_topics()
    config = publish(
        bootstrap,
        make_codec(),
        rollout(models, sla_ms),
        None,
        "bench",
        stack.topics["rendezvous.config"],
    )
    paths = example_models(workdir / "models")
    try:
        if models == "all":
            progress("starting champion, challenger, canary, fallback, decoy, rendezvous")
            stack.start_workers(paths)
            stack.start("decoy", "decoy", "--archive", str(workdir / "archive"))
        else:
            progress("starting the champion and the rendezvous")
            stack.start_workers({CHAMPION: paths[CHAMPION]})
        stack.start("rendezvous", "rendezvous")
        with RendezvousClient(
            bootstrap, stack.topics["requests"], stack.topics["answers"]
        ) as client:
            progress("warming up")
            warm_up(client)
            yield Served(stack, client, models, config)
    finally:
        stack.stop()
