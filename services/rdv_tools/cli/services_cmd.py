"""`rdv worker` and `rdv decoy`: the services that read the requests topic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rdv.decoy.settings import DecoySettings
from rdv.errors import ConfigError
from rdv.runtime import exit_now, service_logging, stop_on_signals, yield_cpu
from rdv.settings import make_codec, resolve_bootstrap
from rdv.settings_util import load_settings
from rdv.worker.settings import HostedModel, WorkerSettings
from rdv_tools.cli.common import BootstrapOption, console, optional_extra

TakeOverOption = Annotated[
    int | None,
    typer.Option(
        "--take-over",
        metavar="PID",
        help="Replace the same service running in process PID: start, then stop it (SIGTERM) "
        "and take its partitions (a rolling upgrade's step).",
    ),
]

MetricsPort = Annotated[int | None, typer.Option(help="Serve Prometheus /metrics on this port.")]


def worker(
    model: Annotated[
        list[Path] | None,
        typer.Option(
            help="Model artifact directory. Env: RDV_WORKER_MODEL. Give it again to host "
            "several models in this process (one fetch and decode for all)."
        ),
    ] = None,
    role: Annotated[
        list[str] | None,
        typer.Option(
            help="Annotation in every Score: champion, challenger, canary, fallback. "
            "One per --model, in the same order."
        ),
    ] = None,
    bootstrap: BootstrapOption = None,
    metrics_port: MetricsPort = None,
    batch_max: Annotated[int | None, typer.Option(help="Largest micro-batch.")] = None,
    delay_ms: Annotated[
        float | None, typer.Option(help="Fault injection: extra latency per micro-batch.")
    ] = None,
    fail_rate: Annotated[
        float | None,
        typer.Option(help="Fault injection: share of requests answered with an error."),
    ] = None,
    instance: Annotated[str | None, typer.Option(help="Instance id. Default host:pid.")] = None,
    group: Annotated[
        str | None, typer.Option(help="Consumer group. Default rdv-worker-<name>@<version>.")
    ] = None,
    from_beginning: Annotated[
        bool | None,
        typer.Option(
            "--from-beginning",
            help="A new group starts at the oldest retained request (a backfill), not at "
            "those produced from this worker's start.",
        ),
    ] = None,
    from_time: Annotated[
        str | None,
        typer.Option(
            help="A new group starts at the requests produced from this moment (ISO, UTC)."
        ),
    ] = None,
    take_over: TakeOverOption = None,
) -> None:
    """Score every request with one model (or several); write a Score per request and model
    to `results`.

    A model version's group that has never committed starts at the requests produced from
    when this worker started (not the retained backlog), unless --from-beginning or
    --from-time say otherwise; one that has committed goes on where it stopped."""
    service_logging()
    first_model, first_role, cohosted = hosted_models(model or [], role or [])
    settings = load_settings(
        WorkerSettings,
        model=first_model,
        role=first_role,
        cohosted=cohosted,
        metrics_port=metrics_port,
        batch_max=batch_max,
        delay_ms=delay_ms,
        fail_rate=fail_rate,
        instance=instance,
        group_id=group,
        from_beginning=from_beginning,
        from_time=from_time,
        take_over_pid=take_over,
    )
    yield_cpu(settings.nice)
    servers = resolve_bootstrap(bootstrap)
    from rdv.worker.service import Worker  # a rendezvous never needs the scoring code

    service = Worker(settings, servers, make_codec(bootstrap=servers))
    stop_on_signals(service.stopping)
    console.print(
        f"worker {service.model_id} "
        f"({', '.join(h.role or 'no role' for h in settings.hosted)}) on "
        f"{service.bootstrap}; Ctrl-C or SIGTERM to stop"
    )
    service.run()
    # Scores delivered, offsets committed, group left: a successor taking over waits for this
    # process to exit, and the interpreter's teardown would add 0.2-0.6 s to that wait.
    exit_now()


def hosted_models(
    models: list[Path], roles: list[str]
) -> tuple[Path | None, str | None, tuple[HostedModel, ...] | None]:
    """The first model and role (which the environment may also give) and the co-hosted rest;
    a role count that does not match the models is a ConfigError."""
    if roles and len(roles) != max(len(models), 1):
        raise ConfigError(
            f"{len(models)} --model but {len(roles)} --role: give one --role per --model, "
            "in the same order, or none"
        )
    first_model = models[0] if models else None
    first_role = roles[0] if roles else None
    rest = tuple(
        HostedModel(model=path, role=roles[i] if roles else None)
        for i, path in enumerate(models[1:], start=1)
    )
    return first_model, first_role, rest or None


def decoy(
    archive: Annotated[
        Path | None, typer.Option(help="Archive directory. Env: RDV_DECOY_ARCHIVE.")
    ] = None,
    bootstrap: BootstrapOption = None,
    metrics_port: MetricsPort = None,
    roll_seconds: Annotated[
        float | None, typer.Option(help="Write a file at least this often.")
    ] = None,
    roll_rows: Annotated[int | None, typer.Option(help="Write a file at this many rows.")] = None,
    records: Annotated[
        bool,
        typer.Option(
            "--records",
            help="Archive the rendezvous's records (rendezvous.log) instead of the requests "
            "(RDV_DECOY_SOURCE=records).",
        ),
    ] = False,
) -> None:
    """Archive every request exactly as seen (or, with --records, every record), in Parquet
    partitioned by date and hour."""
    service_logging()
    settings = load_settings(
        DecoySettings,
        archive=archive,
        source="records" if records else None,
        metrics_port=metrics_port,
        roll_seconds=roll_seconds,
        roll_rows=roll_rows,
    )
    # pyarrow is an extra: the model and rendezvous images skip it.
    with optional_extra("the decoy writes Parquet and needs pyarrow", "decoy"):
        from rdv.decoy.service import Decoy
    yield_cpu(settings.nice)
    servers = resolve_bootstrap(bootstrap)
    service = Decoy(settings, servers, make_codec(bootstrap=servers))
    stop_on_signals(service.stopping)
    console.print(
        f"decoy archiving {settings.topic} to {settings.archive} from {service.bootstrap}; "
        "Ctrl-C or SIGTERM to stop"
    )
    service.run()


def rendezvous(
    bootstrap: BootstrapOption = None,
    metrics_port: MetricsPort = None,
    instance: Annotated[str | None, typer.Option(help="Instance id. Default host:pid.")] = None,
    take_over: TakeOverOption = None,
) -> None:
    """Answer every request inside the SLA from the models' scores, by the rollout config."""
    service_logging()
    from rdv.rendezvous.service import RendezvousService
    from rdv.rendezvous.settings import RendezvousServiceSettings

    settings = load_settings(
        RendezvousServiceSettings,
        metrics_port=metrics_port,
        instance=instance,
        take_over_pid=take_over,
    )
    servers = resolve_bootstrap(bootstrap)
    service = RendezvousService(settings, servers, make_codec(bootstrap=servers))
    stop_on_signals(service.stopping)
    console.print(
        f"rendezvous {settings.instance} on {service.bootstrap}; Ctrl-C or SIGTERM to stop"
    )
    service.run()
    # Everything is committed and closed. The interpreter's own teardown (modules, librdkafka
    # handles) took 0.2-0.6 s here, and a successor taking over waits for this process to exit.
    exit_now()
