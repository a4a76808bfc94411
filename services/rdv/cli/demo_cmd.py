"""`rdv demo`: the whole stack on the embedded broker, and a rollout told as a story."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.live import Live

from rdv.broker import EmbeddedBroker, default_data_dir, running_state
from rdv.broker.embedded import free_port
from rdv.cli.common import console, out
from rdv.cli.demo_story import Phase, drive, kill, render, tell
from rdv.client import RendezvousClient
from rdv.paths import state_dir
from rdv.rendezvous.rollout_store import publish, read_history
from rdv.settings import RendezvousSettings, make_codec
from rdv.stack import LocalStack, example_config, example_models


def demo(
    seconds: Annotated[float, typer.Option(min=2, help="Seconds of traffic per step.")] = 6.0,
    sla_ms: Annotated[int, typer.Option(min=10, help="SLA of the demo's rollout.")] = 50,
) -> None:
    """Start Kafka, the models, the decoy and the rendezvous; send traffic while the
    challenger goes from shadow to 20% to champion, the champion dies, and we roll back."""
    console.rule("Rendezvous demo")
    state = running_state(default_data_dir())
    if state:
        bootstrap = state.bootstrap
    else:
        with console.status("starting Kafka (the first run fetches its jars with Maven) ..."):
            bootstrap = EmbeddedBroker(default_data_dir()).start().bootstrap
    console.print(f"Kafka on {bootstrap}")
    home = state_dir()
    stack = LocalStack(bootstrap, home, partitions=RendezvousSettings().partitions, private=False)
    stack.create_topics()
    models = example_models(home / "models")
    codec = make_codec()
    topic = stack.topics["rendezvous.config"]

    def rollout(comment: str, **changes: object) -> None:
        history = read_history(bootstrap, codec, topic)
        config = example_config(sla_ms).evolve(**changes)
        published = publish(
            bootstrap, codec, config, history[-1] if history else None, comment, topic
        )
        console.print(f"rollout v{published.version}: {comment}")

    rollout("champion login-bot@2, challenger login-bot@3 in shadow")
    metrics_port = free_port(9100)
    console.print(
        f"models in {home / 'models'} (the hand-made login-bot examples); "
        f"service logs in {home / 'logs'}; rendezvous metrics on "
        f"http://127.0.0.1:{metrics_port}/metrics"
    )
    stack.start_workers(models)
    stack.start("decoy", "decoy", "--archive", str(home / "archive"))
    stack.start("rendezvous", "rendezvous", "--metrics-port", str(metrics_port))
    phases: list[Phase] = []
    try:
        with (
            RendezvousClient(bootstrap) as client,
            Live(render(phases, sla_ms), console=console) as live,
        ):
            refresh = tell(live, phases, sla_ms)
            _wait_until_answering(client)
            steps = [
                ("1 challenger in shadow", None),
                (
                    "2 split 80/20",
                    lambda: rollout(
                        "20% of keys to login-bot@3",
                        shadow=(),
                        mode="split",
                        split={"login-bot@2": 0.8, "login-bot@3": 0.2},
                    ),
                ),
                (
                    "3 promote login-bot@3",
                    lambda: rollout(
                        "login-bot@3 is champion",
                        champion="login-bot@3",
                        challengers=("login-bot@2",),
                        shadow=(),
                    ),
                ),
                ("4 champion killed", lambda: kill(stack.processes["login-bot@3"])),
                ("5 roll back", lambda: rollout("roll back to login-bot@2", shadow=())),
            ]
            for n, (title, action) in enumerate(steps):
                if action:
                    action()
                    time.sleep(1)
                phases.append(Phase(title))
                drive(client, phases[-1], seconds, 40, n, refresh)
    finally:
        with console.status("stopping the services"):
            stack.stop()
    _summary(phases, sla_ms, bootstrap)


def _wait_until_answering(client: RendezvousClient, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.predict(
                {"failed_logins": 0.0, "account_age_days": 100.0, "country": "US"}, timeout=3
            )
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise


def _summary(phases: list[Phase], sla_ms: int, bootstrap: str) -> None:
    console.rule("summary")
    sent = sum(p.sent for p in phases)
    answered = sum(len(p.answers) for p in phases)
    out.print(f"{sent} requests sent, {answered} answered, each once; SLA {sla_ms} ms.")
    out.print(
        "Every answer names its model and why: preferred (the traffic mode's choice), "
        "champion, fallback, default or late."
    )
    out.print(
        f"Records with every model's score and deltas: `rdv consume rendezvous.log -n 3`; "
        f"the archive for training: {state_dir() / 'archive'}; the rollout history: "
        "`rdv rollout history`."
    )
    out.print(f"Kafka keeps running on {bootstrap}: `rdv broker stop` ends it.")
