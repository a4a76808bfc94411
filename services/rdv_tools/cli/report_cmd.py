"""`rdv report`: one HTML page of what the stack recorded in a time window."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rdv.settings import make_codec, resolve_bootstrap
from rdv.topics import FEEDBACK, RENDEZVOUS_CONFIG, RENDEZVOUS_LOG
from rdv_tools.cli.common import BootstrapOption, console, optional_extra
from rdv_tools.replay.window import window


def report(
    since: Annotated[
        str, typer.Option(help="From this moment (2026-12-01T14:00, UTC) or age (2h, 1d).")
    ] = "1h",
    until: Annotated[str, typer.Option(help="Up to this moment or age.")] = "now",
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path(
        "report.html"
    ),
    records: Annotated[
        Path | None,
        typer.Option(
            help="A records archive (`rdv decoy --records --archive DIR`); "
            "default: read the rendezvous.log topic."
        ),
    ] = None,
    log_topic: Annotated[str, typer.Option(help="The records topic.")] = RENDEZVOUS_LOG.name,
    feedback_topic: Annotated[str, typer.Option(help="The feedback topic.")] = FEEDBACK.name,
    config_topic: Annotated[
        str, typer.Option(help="The rollout config topic.")
    ] = RENDEZVOUS_CONFIG.name,
    bootstrap: BootstrapOption = None,
) -> None:
    """Write one self-contained HTML page: per model the latency, the score distribution, Q-Q
    plots and agreement against the champion and the canary; answers by role and reason over
    time; canary drift; quality where feedback has labels; the rollout timeline."""
    with optional_extra("rdv report needs pandas, pyarrow and matplotlib", "report"):
        from rdv_tools.report.page import render
        from rdv_tools.report.sources import gather

    start, end = window(since, until)
    servers = resolve_bootstrap(bootstrap) if records is None or bootstrap else None
    topics = {"log": log_topic, "feedback": feedback_topic, "config": config_topic}
    with console.status("reading what was recorded"):
        recorded = gather(start, end, make_codec(bootstrap=servers), servers, records, topics)
    with console.status(f"plotting {len(recorded.records):,} records"):
        page = render(recorded, start, end)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page)
    console.print(
        f"[green]wrote {output}[/] ({len(page) // 1024} KiB): {len(recorded.records):,} records "
        f"from the {recorded.source}"
    )
    for missing in recorded.missing:
        console.print(f"[yellow]left out[/] {missing}")
