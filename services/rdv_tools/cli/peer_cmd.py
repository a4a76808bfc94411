"""`rdv bench peer`: Rendezvous and MLServer's Kafka server on the same broker, one run."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from rdv_tools.cli.bench_cmd import broker_for_bench, machine
from rdv_tools.cli.common import BootstrapOption, FiguresOption, console, out


def peer(
    rate: Annotated[float, typer.Option(min=1, help="Requests per second for latency.")] = 50.0,
    seconds: Annotated[float, typer.Option(min=1, help="Seconds at that rate.")] = 10.0,
    burst: Annotated[
        int, typer.Option(min=100, help="Requests sent at once for throughput.")
    ] = 3000,
    sla_ms: Annotated[int, typer.Option(min=1, help="SLA of the Rendezvous rollout.")] = 50,
    over_http: Annotated[
        bool,
        typer.Option(
            "--http",
            help="Over HTTP: MLServer's REST server against `rdv gateway` in front of the stack.",
        ),
    ] = False,
    json_file: FiguresOption = None,
    bootstrap: BootstrapOption = None,
) -> None:
    """The same model served by MLServer (Kafka mode; default settings, then parallel_workers
    0) and by Rendezvous alone, then Rendezvous with champion, challenger, canary, fallback and
    decoy: p50/p99 at a fixed rate, answers/s in a burst, each as a ratio to MLServer's first
    row. With --http, both are called over HTTP with the Open Inference Protocol."""
    from rdv_tools.bench.peer import run_peer

    with broker_for_bench(bootstrap) as servers, console.status("starting") as status:
        result = run_peer(servers, rate, seconds, burst, sla_ms, status.update, over_http)
    table = Table(
        title=f"peer: {rate:g} requests/s for {seconds:g} s, then a burst of {burst} "
        f"(twin agrees to {result.twin_max_difference:.1e})"
    )
    for column in (
        "system",
        "models",
        "delivery",
        "p50 ms",
        "p99 ms",
        "answered",
        "burst model answers/s",
        "p50 x MLServer",
        "p99 x MLServer",
        "throughput x MLServer",
        "burst answers",
    ):
        table.add_column(
            column,
            justify="left"
            if column in ("system", "models", "delivery", "burst answers")
            else "right",
        )
    base = result.rows[0]
    for row in result.rows:
        lat, ref = row.fixed.latency, base.fixed.latency
        table.add_row(
            row.system,
            row.models,
            row.delivery,
            f"{lat.p50_ms:.1f}" if lat else "-",
            f"{lat.p99_ms:.1f}" if lat else "-",
            f"{row.fixed.answered}/{row.fixed.sent}",
            f"{row.burst_model_answers_per_s:.0f}",
            f"{lat.p50_ms / ref.p50_ms:.2f}" if lat and ref else "-",
            f"{lat.p99_ms / ref.p99_ms:.2f}" if lat and ref else "-",
            f"{row.burst_model_answers_per_s / base.burst_model_answers_per_s:.2f}"
            if base.burst_model_answers_per_s
            else "-",
            ", ".join(f"{k} {v}" for k, v in sorted(row.burst_reasons.items())),
        )
    out.print(table)
    if json_file:
        json_file.write_text(
            json.dumps({"benchmark": "peer", "machine": machine(), **result.as_dict()}, indent=2)
        )
        console.print(f"figures written to {json_file}")
