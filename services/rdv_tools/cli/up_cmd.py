"""`rdv up`, `rdv down`, `rdv status`, `rdv logs`: the whole stack as supervised processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from rdv.errors import ConfigError
from rdv.paths import state_dir
from rdv.settings_util import load_settings
from rdv_tools.cli.common import BootstrapOption, console, out
from rdv_tools.up.launch import (
    Launch,
    has_rollout,
    pid_alive,
    prepare,
    publish_rollout,
    running_stack,
)
from rdv_tools.up.plan import MAX_REPLICAS, UpSettings


def up(
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Start the stack and return; `rdv down` ends it.")
    ] = False,
    story: Annotated[
        bool,
        typer.Option(help="Tell the rollout story with traffic (the default in the foreground)."),
    ] = True,
    seconds: Annotated[float, typer.Option(min=2, help="Seconds of traffic per step.")] = 6.0,
    example_models: Annotated[
        bool,
        typer.Option(
            "--example-models", help="Use the hand-made example models instead of training."
        ),
    ] = False,
    prometheus: Annotated[
        bool, typer.Option(help="Run a Prometheus beside the stack when one can be found.")
    ] = True,
    replicas: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_REPLICAS,
            help="Workers per model, sharing its partitions (RDV_UP_REPLICAS; default 1).",
        ),
    ] = None,
    cohost: Annotated[
        bool | None,
        typer.Option(
            "--cohost/--no-cohost",
            help="Champion, challenger and canary in one worker process; the fallback keeps "
            "its own (RDV_UP_COHOST).",
        ),
    ] = None,
    bootstrap: BootstrapOption = None,
) -> None:
    """Start Kafka, train the first models if the registry is empty, and run the models, the
    decoy and the rendezvous as supervised processes (a crashed one is restarted). In the
    foreground it then tells the rollout story with live traffic and stops all at the end or
    on Ctrl-C; with --detach it leaves the stack running."""
    settings = load_settings(UpSettings, replicas=replicas, cohost=cohost)
    home = state_dir()
    console.rule("Rendezvous")
    with console.status("setting up") as status:
        launch = prepare(
            home,
            bootstrap,
            example_models,
            prometheus,
            lambda message: status.update(message + " ..."),
            settings,
            story=story and not detach,
        )
    console.print(f"Kafka on {launch.bootstrap}; models in {home / 'registry'}")
    if prometheus and launch.prometheus_url is None:
        console.print(
            "[yellow]no Prometheus[/]: none on the PATH and Debian's package could not be "
            "fetched; the services still serve /metrics"
        )
    if detach:
        _detach(launch, bootstrap, example_models, prometheus)
        return
    if not story:
        _serve(launch)
        return
    from rdv_tools.demo.up_story import tell_story

    version = publish_rollout(launch, "champion login-bot@2, challenger login-bot@3 in shadow")
    console.print(f"rollout v{version}: champion login-bot@2, challenger login-bot@3 in shadow")
    # Smaller drift windows than a long-running stack's, so the story shows a canary PSI.
    launch.stack.extra_env.update(
        {"RDV_RENDEZVOUS_DRIFT_REFERENCE": "200", "RDV_RENDEZVOUS_DRIFT_WINDOW": "200"}
    )
    supervisor = launch.supervisor().start()
    _where(launch)
    try:
        phases = tell_story(launch, supervisor, seconds)
    finally:
        with console.status("stopping the services"):
            supervisor.stop()
    _summary(launch, phases, supervisor)


def _serve(launch: Launch) -> None:
    """The stack in this process until SIGTERM or Ctrl-C: what --detach runs in the background."""
    if not has_rollout(launch):
        publish_rollout(launch, "first rollout of rdv up")
    supervisor = launch.supervisor().start()
    stop = False

    def handle(signum: int, frame: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, handle)
    try:
        while not stop:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        supervisor.stop()


def _detach(launch: Launch, bootstrap: str | None, examples: bool, with_prometheus: bool) -> None:
    logs = launch.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "rdv_tools.cli",
        "up",
        "--no-story",
        "--bootstrap",
        launch.bootstrap,
    ]
    command += ["--example-models"] if examples else []
    command += [] if with_prometheus else ["--no-prometheus"]
    command += ["--replicas", str(launch.settings.replicas)]
    command += ["--cohost"] if launch.settings.cohost else ["--no-cohost"]
    with open(logs / "supervisor.log", "ab") as log:
        subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # survives this shell; `rdv down` signals it
        )
    deadline = time.monotonic() + 60
    with console.status("starting the services ..."):
        while time.monotonic() < deadline:
            state = running_stack(launch.home)
            if state and all(s["state"] == "running" for s in state["services"].values()):
                break
            time.sleep(0.3)
        else:
            raise ConfigError(f"the stack did not start: see {logs / 'supervisor.log'}")
    from rdv.client import RendezvousClient
    from rdv_tools.demo.up_story import wait_until_answering

    with (
        console.status("waiting for the first answer ..."),
        RendezvousClient(launch.bootstrap) as client,
    ):
        wait_until_answering(client)
    status()
    _where(launch)
    out.print(
        'Send a request: rdv predict --json \'{"failed_logins": 9, "country": "FR"}\'; '
        "many: rdv produce --count 1000 --rate 100; stop: rdv down"
    )


def _where(launch: Launch) -> None:
    urls = launch.metrics_urls()
    console.print(
        f"service logs in {launch.home / 'logs'}; metrics: rendezvous {urls['rendezvous']}"
        + (f"; Prometheus {launch.prometheus_url}" if launch.prometheus_url else "")
    )


def status() -> None:
    """The running stack's services: pid, state, restarts, metrics port and log."""
    home = state_dir()
    state = running_stack(home)
    if state is None:
        out.print(f"no stack is running from {home} (`rdv up --detach` starts one)")
        raise typer.Exit(1)
    table = Table("service", "role", "state", "pid", "restarts", "metrics", "log", title="stack")
    for name, service in state["services"].items():
        alive = service["pid"] is not None and pid_alive(int(service["pid"]))
        shown = service["state"] if alive or service["state"] != "running" else "dead"
        table.add_row(
            name,
            service["role"],
            shown,
            str(service["pid"]),
            str(service["restarts"]),
            f":{service['metrics_port']}" if service["metrics_port"] else "-",
            Path(service["log"]).name,
        )
    out.print(table)
    out.print(
        f"Kafka {state['bootstrap']}; supervisor pid {state['supervisor_pid']}"
        + (f"; Prometheus {state['prometheus']}" if state.get("prometheus") else "")
    )


def down(
    keep_broker: Annotated[bool, typer.Option(help="Leave the embedded Kafka running.")] = False,
) -> None:
    """Stop the stack `rdv up --detach` started, and the embedded Kafka it started."""
    home = state_dir()
    state = running_stack(home)
    if state is None:
        out.print(f"no stack is running from {home}")
    else:
        os.kill(int(state["supervisor_pid"]), signal.SIGTERM)
        deadline = time.monotonic() + 40
        with console.status("stopping the services ..."):
            while running_stack(home) and time.monotonic() < deadline:
                time.sleep(0.3)
        console.print("[green]services stopped[/]")
    if keep_broker:
        return
    from rdv.kafka.local_broker import running_bootstrap
    from rdv_tools.broker import default_data_dir
    from rdv_tools.broker.cluster import stop_local

    # The embedded Kafka goes down with the stack that used it, not a broker elsewhere.
    embedded = running_bootstrap(default_data_dir())
    if embedded and (state is None or state.get("bootstrap") == embedded):
        with console.status("stopping Kafka ..."):
            stop_local(default_data_dir())
        console.print("[green]Kafka stopped[/]")


def restart(
    service: Annotated[str, typer.Argument(help="Service name, as `rdv status` lists it.")],
) -> None:
    """Restart one service of the running stack: SIGTERM (it hands over cleanly), then the same
    command again, new code under the same name. One step of a rolling upgrade."""
    from rdv_tools.up.supervisor import request_restart

    home = state_dir()
    state = running_stack(home)
    if state is None:
        out.print(f"no stack is running from {home} (`rdv up --detach` starts one)")
        raise typer.Exit(1)
    if service not in state["services"]:
        known = ", ".join(sorted(state["services"]))
        raise ConfigError(f"the stack runs no service {service!r}; it runs: {known}")
    old = state["services"][service]["pid"]
    request_restart(home, service)
    deadline = time.monotonic() + 60
    with console.status(f"restarting {service} ..."):
        while True:
            state = running_stack(home)
            if state is None:
                raise ConfigError(f"the stack stopped while {service} was restarting")
            now = state["services"][service]
            if now["pid"] != old and now["state"] == "running":
                break
            if time.monotonic() > deadline:
                raise ConfigError(f"{service} is not back after 60 s: see `rdv logs {service}`")
            time.sleep(0.2)
    out.print(f"{service} restarted (pid {old} -> {now['pid']})")


def logs(
    service: Annotated[str, typer.Argument(help="Service name, as `rdv status` lists it.")],
    lines: Annotated[int, typer.Option("-n", help="Lines from the end.")] = 40,
) -> None:
    """The last lines of one service's log."""
    path = state_dir() / "logs" / f"{service}.log"
    if not path.exists():
        known = sorted(p.stem for p in (state_dir() / "logs").glob("*.log"))
        raise ConfigError(
            f"no log for {service!r}; services with logs: {', '.join(known) or 'none yet'}"
        )
    for line in path.read_text(errors="replace").splitlines()[-lines:]:
        out.print(line, markup=False, highlight=False)


def _summary(launch: Launch, phases: list[Any], supervisor: Any) -> None:
    console.rule("summary")
    sent = sum(p.sent for p in phases)
    answered = sum(len(p.answers) for p in phases)
    sla_ms = launch.settings.sla_ms
    # The SLA as the client sees it: from sending the request to holding its answer.
    client_ms = [ms for p in phases for ms in p.client_ms]
    inside = sum(ms <= sla_ms for ms in client_ms)
    out.print(
        f"{sent} requests sent, {answered} answered, each once; "
        f"{inside / max(len(client_ms), 1):.1%} received inside the {sla_ms} ms SLA "
        "at the client."
    )
    restarts = {n: s.restarts for n, s in supervisor.services.items() if s.restarts}
    if restarts:
        out.print(
            "Restarted by the supervisor: " + ", ".join(f"{n} ({c}x)" for n, c in restarts.items())
        )
    out.print(
        "Every answer names its model, role and why: preferred (the traffic mode's choice), "
        "champion, fallback, default or late."
    )
    out.print(
        "Records with every model's score and deltas: `rdv consume rendezvous.log -n 3`; "
        f"the archive for training: {launch.home / 'archive'}; the rollout history: "
        "`rdv rollout history`; the models: "
        f"`rdv models list --registry {launch.home / 'registry'}`."
    )
    out.print(
        f"Service logs: {launch.home / 'logs'}; metrics: "
        + ", ".join(
            f"{name} {url}" for name, url in launch.metrics_urls().items() if name == "rendezvous"
        )
        + (
            f"; Prometheus {launch.prometheus_url} (stopped with the stack)"
            if launch.prometheus_url
            else ""
        )
    )
    if launch.started_broker or not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        out.print(f"Kafka keeps running on {launch.bootstrap}: `rdv broker stop` ends it.")
