"""`rdv topics create|list`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from rdv.kafka import create_topics, topic_partitions
from rdv.settings import SharedSettings, resolve_bootstrap
from rdv.topics import DEFAULT_PARTITIONS, architecture_topics, partition_count
from rdv_tools.cli.common import BootstrapOption, out

app = typer.Typer(help="The topics of the architecture.", no_args_is_help=True)


@app.command()
def create(
    bootstrap: BootstrapOption = None,
    partitions: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Partitions of requests, results and the other keyed topics. "
            "Default: RDV_PARTITIONS, else the count of the topics already there, else "
            f"{DEFAULT_PARTITIONS}.",
        ),
    ] = None,
) -> None:
    """Create every topic of the architecture that is missing (idempotent)."""
    address = resolve_bootstrap(bootstrap)
    chosen = partitions or SharedSettings().partitions
    specs = architecture_topics(partition_count(chosen, topic_partitions(address)))
    outcome = create_topics(address, specs)
    table = Table("topic", "partitions", "config", "status")
    for spec in specs:
        config = ",".join(f"{k}={v}" for k, v in spec.config.items())
        table.add_row(spec.name, str(spec.partitions), config, outcome[spec.name])
    out.print(table)


@app.command("list")
def list_topics(bootstrap: BootstrapOption = None) -> None:
    """List the topics on the cluster with their partition counts."""
    for name, count in sorted(topic_partitions(resolve_bootstrap(bootstrap)).items()):
        if not name.startswith("__"):
            out.print(f"{name}\t{count}")
