"""The stack a benchmark drives: a fresh set of private topics on the given broker, the
example models, the rendezvous and (with every model) the decoy, and a client ready to time.

`models="all"` is the demo's rollout (champion, challenger, canary, fallback, and the decoy);
`models="cohosted"` is the same rollout with champion, challenger and canary in one worker
process (the fallback keeps its own);
`models="champion"` is the champion alone behind the rendezvous, the least Rendezvous can be."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rdv.client import AnswerTimeoutError, RendezvousClient
from rdv.rollout.config import RolloutConfig
from rdv.rollout.store import publish
from rdv.settings import make_codec
from rdv.topics import DEFAULT_PARTITIONS
from rdv_tools.bench import MODEL_SETS
from rdv_tools.demo.stack import LocalStack, example_config, example_models

CHAMPION = "login-bot@2"


def rollout(models: str, sla_ms: int) -> RolloutConfig:
    if models != "champion":
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
    partitions: int = DEFAULT_PARTITIONS,
    models: str = "all",
    progress: Callable[[str], None] = lambda _: None,
) -> Iterator[Served]:
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
        if models != "champion":
            progress("starting champion, challenger, canary, fallback, decoy, rendezvous")
            stack.start_workers(paths, cohost=models == "cohosted")
            stack.start("decoy", "decoy", "--archive", str(workdir / "archive"))
        else:
            progress("starting the champion and the rendezvous")
            stack.start_workers({CHAMPION: paths[CHAMPION]})
        stack.start("rendezvous", "rendezvous")
        with RendezvousClient(
            bootstrap, stack.topics["requests"], stack.topics["answers"], codec=stack.client_codec()
        ) as client:
            progress("warming up")
            warm_up(client)
            yield Served(stack, client, models, config)
    finally:
        stack.stop()
    # Only after a run that ended well: a failed one keeps its topics to look into, and a
    # broker gone away would turn a clear error into a timeout here.
    stack.delete_topics()


class Probed(Protocol):
    def predict(self, features: dict[str, Any], timeout: float = 1.0) -> dict[str, Any]: ...


# A request every model of the examples scores: a warm-up and config probe.
PROBE = {"failed_logins": 1.0, "account_age_days": 10.0, "country": "US"}


def warm_up(
    client: Probed,
    on_time: int = 20,
    timeout: float = 120,
    check: Callable[[], None] = lambda: None,
) -> None:
    """Send requests until `on_time` answers came back not late: groups joined, models
    loaded, so that what is measured next is the steady state. `check` runs after each
    unanswered probe, to fail fast (it raises) when what should answer has died."""
    deadline = time.monotonic() + timeout
    answered = 0
    while answered < on_time:
        try:
            answer = client.predict(PROBE, timeout=2)
            answered += answer["reason"] != "late"
        except AnswerTimeoutError:
            check()
            if time.monotonic() > deadline:
                raise
