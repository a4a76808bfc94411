"""`rdv bench soak` (one rate held for long) and `rdv bench plot` (curves of several runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.live import Live

from rdv.errors import ConfigError
from rdv_tools.cli.bench_cmd import broker_for_bench, machine
from rdv_tools.cli.bench_tables import soak_table
from rdv_tools.cli.common import (
    BootstrapOption,
    DeliveryOption,
    FiguresOption,
    ModelsOption,
    check_stack,
    console,
    out,
)


def soak(
    rate: Annotated[float, typer.Option(min=1, help="Requests per second, held.")] = 100.0,
    minutes: Annotated[float, typer.Option(min=0.1, help="How long to hold it.")] = 20.0,
    window: Annotated[float, typer.Option(min=1, help="Seconds per reported window.")] = 60.0,
    sla_ms: Annotated[int, typer.Option(min=1, help="SLA of the rollout config.")] = 50,
    delivery: DeliveryOption = "exactly_once",
    models: ModelsOption = "all",
    json_file: FiguresOption = None,
    plot: Annotated[
        Path | None, typer.Option(help="Also draw latency and memory over time into this PNG.")
    ] = None,
    bootstrap: BootstrapOption = None,
) -> None:
    """One rate for a long time: latency and each service's memory per window, and how the
    last window compares with the first (1.00 is flat)."""
    from rdv_tools.bench.soak import SoakSample, run_soak

    check_stack(delivery, models)
    samples: list[SoakSample] = []
    with broker_for_bench(bootstrap) as servers, Live(console=console, transient=False) as live:
        live.update(f"starting: {rate:g} requests/s for {minutes:g} min")

        def on_sample(sample: SoakSample) -> None:
            samples.append(sample)
            live.update(soak_table(samples, sorted(samples[0].rss_mb)))

        def progress(stage: str) -> None:
            if not samples:  # once the table is up, it is the progress
                live.update(stage)

        result = run_soak(
            servers,
            rate,
            minutes,
            window,
            sla_ms,
            delivery,
            models,
            on_sample=on_sample,
            progress=progress,
        )
    for name, ratio in result.drift().items():
        reference = "median" if name == "client p99" else "first"
        out.print(f"{name}: last window / {reference} = {ratio:.2f}")
    figures = {"benchmark": "soak", "machine": machine(), **result.as_dict()}
    if json_file:
        json_file.write_text(json.dumps(figures, indent=2))
        console.print(f"figures written to {json_file}")
    if plot:
        from rdv_tools.bench.plot import soak_over_time

        soak_over_time(figures["samples"], plot, sla_ms)
        console.print(f"plot written to {plot}")


def plot(
    runs: Annotated[list[Path], typer.Argument(help="Figures from `rdv bench e2e --json`.")],
    output: Annotated[Path, typer.Option("--out", "-o", help="The PNG to write.")] = Path(
        "latency.png"
    ),
) -> None:
    """Overlay the latency-against-rate curves of several `rdv bench e2e` runs (other
    partitions, models or delivery) in one PNG."""
    from rdv_tools.bench.plot import latency_vs_rate

    figures = []
    for path in runs:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: not readable JSON ({exc})") from exc
        if data.get("benchmark") != "e2e":
            raise ConfigError(f"{path}: not figures from `rdv bench e2e --json`")
        figures.append(data)
    latency_vs_rate(figures, output)
    out.print(f"plot written to {output}")
