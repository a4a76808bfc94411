"""`rdv worker` and `rdv decoy`: the services that read the requests topic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rdv.decoy.settings import DecoySettings
from rdv.errors import ConfigError
from rdv.runtime import service_logging, stop_on_signals
from rdv.settings import make_codec, resolve_bootstrap
from rdv.settings_util import load_settings
from rdv.worker.service import Worker
from rdv.worker.settings import WorkerSettings
from rdv_tools.cli.common import BootstrapOption, console

MetricsPort = Annotated[int | None, typer.Option(help="Serve Prometheus /metrics on this port.")]


def worker(
    model: Annotated[
        Path | None, typer.Option(help="Model artifact directory. Env: RDV_WORKER_MODEL.")
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(help="Annotation in every Score: champion, challenger, canary, fallback."),
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
) -> None:
    """Score every request with one model; write a Score per request to `results`."""
    service_logging()
    settings = load_settings(
        WorkerSettings,
        model=model,
        role=role,
        metrics_port=metrics_port,
        batch_max=batch_max,
        delay_ms=delay_ms,
        fail_rate=fail_rate,
        instance=instance,
        group_id=group,
    )
    service = Worker(settings, resolve_bootstrap(bootstrap), make_codec())
    stop_on_signals(service.stopping)
    console.print(
        f"worker {service.model_id} ({settings.role or 'no role'}) on "
        f"{service.bootstrap}; Ctrl-C or SIGTERM to stop"
    )
    service.run()


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
) -> None:
    """Archive every request exactly as seen, in Parquet partitioned by date and hour."""
    service_logging()
    settings = load_settings(
        DecoySettings,
        archive=archive,
        metrics_port=metrics_port,
        roll_seconds=roll_seconds,
        roll_rows=roll_rows,
    )
    try:
        from rdv.decoy.service import Decoy
    except ImportError as exc:  # pyarrow is an extra: the model and rendezvous images skip it
        raise ConfigError(
            f"the decoy writes Parquet and needs pyarrow ({exc}): "
            "pip install 'rendezvous-serving[decoy]'"
        ) from exc
    service = Decoy(settings, resolve_bootstrap(bootstrap), make_codec())
    stop_on_signals(service.stopping)
    console.print(
        f"decoy archiving to {settings.archive} from {service.bootstrap}; Ctrl-C or SIGTERM to stop"
    )
    service.run()


def rendezvous(
    bootstrap: BootstrapOption = None,
    metrics_port: MetricsPort = None,
    instance: Annotated[str | None, typer.Option(help="Instance id. Default host:pid.")] = None,
) -> None:
    """Answer every request inside the SLA from the models' scores, by the rollout config."""
    service_logging()
    from rdv.rendezvous.service import RendezvousService
    from rdv.rendezvous.settings import RendezvousServiceSettings

    settings = load_settings(
        RendezvousServiceSettings, metrics_port=metrics_port, instance=instance
    )
    service = RendezvousService(settings, resolve_bootstrap(bootstrap), make_codec())
    stop_on_signals(service.stopping)
    console.print(
        f"rendezvous {settings.instance} on {service.bootstrap}; Ctrl-C or SIGTERM to stop"
    )
    service.run()
