"""The story `rdv up` tells in the foreground: the challenger in shadow, at 20%, promoted; the
champion killed and the fallback answering inside the SLA; a rollback."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.live import Live

from rdv.client import RendezvousClient
from rdv_tools.cli.common import console
from rdv_tools.demo.demo_story import Phase, RendezvousGauges, StoryView, drive
from rdv_tools.demo.stack import example_config
from rdv_tools.up.launch import Launch, publish_rollout
from rdv_tools.up.supervisor import Supervisor


def tell_story(launch: Launch, supervisor: Supervisor, seconds: float) -> list[Phase]:
    sla_ms, rate = launch.settings.sla_ms, launch.settings.rate

    def rollout(comment: str, **changes: object) -> None:
        config = example_config(sla_ms).evolve(**changes)
        version = publish_rollout(launch, comment, config)
        console.print(f"rollout v{version}: {comment}")

    champion = launch.process_of("login-bot@3")

    def kill_champion() -> None:
        supervisor.kill(champion, hold=True)
        also = " (with the models it hosts)" if champion != "login-bot@3" else ""
        console.print(f"login-bot@3 (now champion) SIGKILLed{also}; held down for this step")

    def roll_back() -> None:
        supervisor.release(champion)
        console.print(f"{champion} restarted by the supervisor")
        rollout("roll back to login-bot@2", shadow=())

    steps: list[tuple[str, Callable[[], None] | None]] = [
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
        ("4 champion killed", kill_champion),
        ("5 roll back", roll_back),
    ]
    gauges = RendezvousGauges(launch.metrics_urls()["rendezvous"])
    with RendezvousClient(launch.bootstrap) as client:
        with console.status("waiting for the first answer, then warming up ..."):
            wait_until_answering(client)
            # Fresh processes answer their first requests slowly (imports, connections,
            # partition assignment); the story starts when they are warm.
            drive(client, Phase("warm-up"), 2, rate, 99, lambda: None)
        with Live(console=console, refresh_per_second=4) as live:
            view = StoryView(live, len(steps), seconds, sla_ms, rate)
            for n, (title, action) in enumerate(steps):
                if action:
                    action()
                    time.sleep(1)
                view.phases.append(Phase(title))
                drive(client, view.phases[-1], seconds, rate, n, view.refresh, gauges)
    return view.phases


def wait_until_answering(client: RendezvousClient, timeout: float = 120) -> None:
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
