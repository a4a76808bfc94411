"""`rdv replay`: archived requests sent again, so a new model can be shadowed on them."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from rdv.settings import resolve_bootstrap
from rdv.topics import REQUESTS
from rdv_tools.cli.common import BootstrapOption, console, optional_extra
from rdv_tools.replay.window import window


def replay(
    archive: Annotated[
        Path, typer.Option(help="The decoy's archive directory (rdv up: ~/.rdv/archive).")
    ],
    since: Annotated[
        str, typer.Option(help="From this moment (2026-12-01T14:00, UTC) or age (2h, 1d).")
    ],
    until: Annotated[str, typer.Option(help="Up to this moment or age (default: now).")] = "now",
    rate: Annotated[
        float | None,
        typer.Option(min=0.1, help="Requests per second (default: as fast as Kafka takes them)."),
    ] = None,
    topic: Annotated[str, typer.Option(help="Topic to send them to.")] = REQUESTS.name,
    run: Annotated[
        str | None, typer.Option(help="Name of this replay (default: the time it starts).")
    ] = None,
    bootstrap: BootstrapOption = None,
) -> None:
    """Send the archived requests of a time window again, exactly as archived (bytes and
    headers), marked with the header `rdv-replay: RUN`.

    Every service reads a replayed request as a new one: its id ends in `@replay:RUN`, it has
    no reply_to (the original client never sees its answer), and its SLA runs from when it
    was replayed. The decoy does not archive it again."""
    # pyarrow is imported here, not with the CLI: every service process starts through it.
    with optional_extra("rdv replay reads Parquet and needs pyarrow", "report"):
        from rdv_tools.replay.archived import archived_requests, stored_rows
    from rdv_tools.replay.sender import replay as send_again

    start, end = window(since, until)
    name = run or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    total = stored_rows(archive, start, end)
    if total == 0:
        console.print(f"[yellow]no archived requests[/] in {archive} from {start} to {end}")
        return
    began = time.monotonic()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"replaying as {name}", total=total)
        sent = send_again(
            resolve_bootstrap(bootstrap),
            archived_requests(archive, start, end, lambda rows: progress.advance(task, rows)),
            topic,
            name,
            rate,
            lambda: progress.advance(task),
        )
    console.print(
        f"[green]replayed {sent} request(s)[/] from {start:%Y-%m-%d %H:%M:%S} to "
        f"{end:%Y-%m-%d %H:%M:%S} UTC to {topic} in {time.monotonic() - began:.1f} s; "
        f"their ids end in @replay:{name}"
    )
