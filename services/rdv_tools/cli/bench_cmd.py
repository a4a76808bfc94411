"""`rdv bench ...`: performance figures measured on this machine."""

from __future__ import annotations

import contextlib
import json
import math
import platform
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rdv.errors import ConfigError
from rdv.settings import resolve_bootstrap
from rdv.topics import DEFAULT_PARTITIONS
from rdv_tools.bench.floor import measure_floor
from rdv_tools.broker import EmbeddedBroker
from rdv_tools.cli.common import (
    BootstrapOption,
    DeliveryOption,
    FiguresOption,
    ModelsOption,
    check_stack,
    console,
    out,
)

app = typer.Typer(
    help="Benchmarks: figures and ratios against the floor of the same run.", no_args_is_help=True
)


@contextlib.contextmanager
def broker_for_bench(bootstrap: str | None) -> Iterator[str]:
    """The given or running broker, else a throw-away embedded one for this run."""
    try:
        yield resolve_bootstrap(bootstrap)
        return
    except ConfigError:
        pass
    console.print("no broker running: starting a throw-away embedded broker for this run")
    with EmbeddedBroker.throwaway() as broker:
        yield broker.bootstrap


def machine() -> dict[str, object]:
    import os

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


@app.command()
def floor(
    round_trips: Annotated[
        int, typer.Option(min=10, help="Sequential three-hop round trips.")
    ] = 2000,
    messages: Annotated[
        int, typer.Option(min=1000, help="Messages for the throughput ceiling.")
    ] = 100_000,
    transactions: Annotated[
        int, typer.Option(min=1, help="Transactions timed per partition count.")
    ] = 50,
    paced_rate: Annotated[
        str,
        typer.Option(
            help="Also drive the three hops at these rates (comma-separated) and read CPU per "
            "request from /proc (0: skip).",
        ),
    ] = "300",
    paced_seconds: Annotated[
        float, typer.Option(min=1, help="Seconds of paced traffic at each rate.")
    ] = 10,
    sla_ms: Annotated[
        int, typer.Option(min=1, help="SLA the paced rates are judged by (p99).")
    ] = 50,
    json_file: FiguresOption = None,
    bootstrap: BootstrapOption = None,
) -> None:
    """What Kafka alone costs here: three-hop round trip with the least-latency client
    settings and with the project's, produce+consume ceiling, one transaction's cost, and
    the CPU per request of the three hops at fixed rates, with the highest rate each client
    setting carries inside the SLA."""
    from rdv_tools.bench.floor import FLOOR_CONSUMER, FLOOR_PRODUCER
    from rdv_tools.bench.floor_cpu import highest_inside, paced_floors
    from rdv_tools.bench.transaction_cost import measure_next_record, measure_transactions
    from rdv_tools.cli.bench_tables import next_record_table, paced_table

    rates = [r for r in parse_rates(paced_rate, "--paced-rate") if r > 0]
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with broker_for_bench(bootstrap) as servers, Progress(*columns, console=console) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = int(bar.add_task(stage, total=total))
            bar.update(tasks[stage], completed=done)  # type: ignore[arg-type]

        result = measure_floor(servers, round_trips, messages, progress)
        costs = measure_transactions(servers, count=transactions, progress=progress)
        following = measure_next_record(servers, count=transactions, progress=progress)
        paced = []
        if rates:
            steps = 2 * len(rates)
            task = bar.add_task("paced", total=steps)

            def pacing(done: int, rate: float, settings: str) -> None:
                bar.update(task, completed=done, description=f"paced {rate:g}/s, {settings}")

            paced = paced_floors(servers, rates, paced_seconds, pacing)
            bar.update(task, completed=steps, description="paced")
    table = Table(title=f"Kafka floor on {servers}: {result.round_trips} three-hop round trips")
    for column in ("client settings", "p50 ms", "p99 ms", "p99.9 ms", "max ms"):
        table.add_column(column, justify="left" if column == "client settings" else "right")
    rows = [("floor: " + _settings(FLOOR_PRODUCER, FLOOR_CONSUMER), result.three_hop)]
    if result.project_three_hop:
        rows.append(("the project's (rdv.kafka.settings)", result.project_three_hop))
    for name, hop in rows:
        table.add_row(
            name, *(f"{v:.2f}" for v in (hop.p50_ms, hop.p99_ms, hop.p999_ms, hop.max_ms))
        )
    out.print(table)
    out.print(f"produce+consume ceiling: {result.throughput_msgs_per_s:,.0f} msgs/s")
    tx = Table(title="one transaction with consumer offsets, begin to commit")
    for column in ("partitions", "producer settings", "p50 ms", "p99 ms", "max ms"):
        tx.add_column(column, justify="left" if column == "producer settings" else "right")
    for t in costs:
        lat = t.latency
        tx.add_row(
            str(t.partitions),
            t.settings,
            *(f"{v:.1f}" for v in (lat.p50_ms, lat.p99_ms, lat.max_ms)),
        )
    out.print(tx)
    out.print(next_record_table(following))
    ceiling = highest_inside(paced, sla_ms) if paced else {}
    if paced:
        out.print(paced_table(paced))
        out.print(
            f"highest paced rate with every message back and p99 inside {sla_ms} ms: "
            + "; ".join(f"{n} {_rate(r)}" for n, r in ceiling.items())
        )
    if json_file:
        payload = {
            "benchmark": "floor",
            "machine": machine(),
            **result.as_dict(),
            "floor_settings": {"producer": FLOOR_PRODUCER, "consumer": FLOOR_CONSUMER},
            "transactions": [t.as_dict() for t in costs],
            "next_record": [n.as_dict() for n in following],
            "paced": [p.as_dict() for p in paced],
            "paced_sla_ms": sla_ms,
            "paced_highest_inside": ceiling,
        }
        json_file.write_text(json.dumps(payload, indent=2))
        console.print(f"figures written to {json_file}")


def parse_rates(text: str, option: str) -> list[float]:
    """Rates given as `300,1000,2000`; ConfigError naming the option otherwise."""
    try:
        rates = [float(r) for r in text.split(",")]
    except ValueError as exc:
        raise ConfigError(f"{option} must be numbers separated by commas, got {text!r}") from exc
    if not all(0 <= r < math.inf for r in rates):
        raise ConfigError(f"{option} must be rates of 0 or more per second, got {text!r}")
    return rates


def _rate(rate: float | None) -> str:
    """The highest rate a verdict names, as `rdv bench e2e` and `floor` both print it."""
    return "none of the rates driven" if rate is None else f"{rate:g} requests/s"


def _settings(producer: dict[str, object], consumer: dict[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in {**producer, **consumer}.items())


@app.command()
def scoring(
    width: Annotated[int, typer.Option(min=1, help="Numeric features per row.")] = 20,
    budget: Annotated[float, typer.Option(min=0.01, help="Seconds of timing per cell.")] = 0.5,
    json_file: FiguresOption = None,
) -> None:
    """µs per row of the numpy scorer by estimator and batch size, against a bare dot product."""
    from rdv_tools.bench.scoring import measure_scoring

    with console.status("timing ...") as status:
        figures = measure_scoring(width, budget, lambda cell: status.update(f"timing {cell}"))
    table = Table(title=f"numpy scorer, {width} features (forests: 100 trees, depth 8)")
    for column in ("estimator", "batch", "µs/row", "floor µs/row", "x floor"):
        table.add_column(column, justify="left" if column == "estimator" else "right")
    for f in figures:
        table.add_row(
            f.estimator,
            str(f.batch),
            f"{f.us_per_row:.2f}",
            f"{f.floor_us_per_row:.3f}",
            f"{f.ratio:,.0f}",
        )
    out.print(table)
    out.print(
        "floor: x @ w on a (batch x width) numpy array; the scorer's figure includes "
        "turning request features into arrays"
    )
    if json_file:
        json_file.write_text(
            json.dumps(
                {
                    "benchmark": "scoring",
                    "machine": machine(),
                    "figures": [f.as_dict() for f in figures],
                },
                indent=2,
            )
        )
        console.print(f"figures written to {json_file}")


@app.command()
def e2e(
    rates: Annotated[str, typer.Option(help="Request rates to drive, per second.")] = "50,100,200",
    seconds: Annotated[float, typer.Option(min=1, help="Seconds at each rate.")] = 10.0,
    sla_ms: Annotated[int, typer.Option(min=1, help="SLA of the rollout config.")] = 50,
    delivery: DeliveryOption = "exactly_once",
    partitions: Annotated[
        int, typer.Option(min=1, help="Partitions of every topic.")
    ] = DEFAULT_PARTITIONS,
    models: ModelsOption = "all",
    until_saturated: Annotated[
        bool,
        typer.Option(
            "--until-saturated",
            help="Stop after the first rate the stack could not keep up with (a request "
            "unanswered, answers below 90% of the rate, or p99 over 20 SLAs).",
        ),
    ] = False,
    overload: Annotated[
        bool,
        typer.Option(
            "--overload",
            help="After the sweep, drive twice the saturation rate (the highest rate inside "
            "the SLA, else the first) for --overload-seconds, then half of it as long "
            "(10 s at most).",
        ),
    ] = False,
    overload_seconds: Annotated[
        float, typer.Option(min=1, help="How long the overload lasts.")
    ] = 30.0,
    json_file: FiguresOption = None,
    plot: Annotated[
        Path | None, typer.Option(help="Also draw latency against rate into this PNG.")
    ] = None,
    bootstrap: BootstrapOption = None,
) -> None:
    """The whole stack at rising rates: end-to-end latency, answers/s, SLA met, x floor, and
    the highest rate with every request answered and p99 inside the SLA."""
    from rdv_tools.bench.e2e import run_e2e
    from rdv_tools.cli.bench_tables import (
        askers_table,
        broker_table,
        cpu_table,
        e2e_table,
        overload_table,
    )

    check_stack(delivery, models)
    wanted = parse_rates(rates, "--rates")
    with broker_for_bench(bootstrap) as servers, console.status("starting") as status:
        result = run_e2e(
            servers,
            wanted,
            seconds,
            sla_ms,
            delivery,
            status.update,
            partitions,
            models,
            until_saturated,
            overload_seconds if overload else 0.0,
        )
    out.print(e2e_table(result))
    out.print(cpu_table(result))
    served = broker_table(result)
    if served is not None:
        out.print(served)
    elif result.broker_counts_note:
        out.print(f"no broker counts in this run: {result.broker_counts_note}")
    askers = askers_table(result)
    if askers is not None:
        out.print(askers)
    if result.overload:
        out.print(overload_table(result))
    best = result.saturation
    out.print(
        f"highest rate with every request answered and client p99 inside {sla_ms} ms: "
        + _rate(best)
    )
    figures = {"benchmark": "e2e", "machine": machine(), **result.as_dict()}
    if json_file:
        json_file.write_text(json.dumps(figures, indent=2))
        console.print(f"figures written to {json_file}")
    if plot:
        from rdv_tools.bench.plot import latency_vs_rate

        latency_vs_rate([figures], plot)
        console.print(f"plot written to {plot}")
