"""`rdv bench state-restore`: what a take-over's restore reads after minutes of traffic."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from rdv_tools.cli.bench_cmd import broker_for_bench, machine
from rdv_tools.cli.common import BootstrapOption, FiguresOption, console, out


def state_restore(
    minutes: Annotated[float, typer.Option(min=0.01, help="Minutes of traffic written.")] = 4.0,
    rate: Annotated[int, typer.Option(min=1, help="Requests per second.")] = 150,
    json_file: FiguresOption = None,
    bootstrap: BootstrapOption = None,
) -> None:
    """Records a restore of `rendezvous.state` reads after MINUTES at RATE requests/s, with
    today's topic settings and with those before 2026-12-04 (a day of tombstones). Kafka
    compacts on its own clock: run it for minutes to see the difference."""
    from rdv_tools.bench.state_restore import measure_state_restore

    with broker_for_bench(bootstrap) as servers, Progress(console=console) as bar:
        task = bar.add_task(f"writing {rate} requests/s for {minutes:g} min", total=1.0)
        figures = measure_state_restore(
            servers, minutes, rate, lambda done: bar.update(task, completed=done)
        )
    table = Table(title=f"a restore after {minutes:g} min at {rate} requests/s")
    for column in ("settings", "requests", "records read", "with values", "seconds"):
        table.add_column(column, justify="left" if column == "settings" else "right")
    for f in figures:
        table.add_row(
            f.settings,
            f"{f.requests:,}",
            f"{f.records_read:,}",
            f"{f.with_values:,}",
            f"{f.seconds:.2f}",
        )
    out.print(table)
    if json_file:
        data = {
            "benchmark": "state-restore",
            "machine": machine(),
            "minutes": minutes,
            "rate": rate,
            "figures": [f.as_dict() for f in figures],
        }
        json_file.write_text(json.dumps(data, indent=2))
        console.print(f"figures written to {json_file}")
