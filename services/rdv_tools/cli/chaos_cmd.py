"""`rdv bench chaos`: faults under steady load, one at a time and combined."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from rdv.errors import ConfigError
from rdv_tools.cli.bench_cmd import machine
from rdv_tools.cli.common import FiguresOption, console, out

# "combined" strikes several at once: the challenger and the decoy killed, the rendezvous
# killed, the champion stopped (a straggler); all repaired together.
COMBINED = ["worker", "decoy", "rendezvous", "straggler"]
DEFAULT = (
    "baseline,worker,champion,decoy,rendezvous,rendezvous-restart,straggler,slow,broker,"
    "broker-long,upgrade,rebalance,rendezvous-peer,replica,combined,broker-leader,controller"
)


def chaos(
    scenarios: Annotated[str, typer.Option(help="Faults to run, comma-separated.")] = DEFAULT,
    rate: Annotated[float, typer.Option(min=1, help="Requests per second.")] = 50.0,
    seconds: Annotated[
        float, typer.Option(min=6, help="Seconds of traffic per scenario; fault at 1/3.")
    ] = 15.0,
    sla_ms: Annotated[int, typer.Option(min=10, help="SLA of the rollout config.")] = 50,
    json_file: FiguresOption = None,
    nodes: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=9,
            help="Kafka nodes for every scenario. Default: what each needs (broker-leader and "
            "controller a cluster of three, the others one node).",
        ),
    ] = None,
    settle: Annotated[
        float,
        typer.Option(
            min=0,
            help="Before the measured run, drive the stack at the rate for up to this many "
            "seconds, until in one 2 s window every answer reaches the client inside the SLA "
            "and the broker's JIT compilers use under 5% of a core.",
        ),
    ] = 0.0,
) -> None:
    """Each scenario runs on a fresh embedded broker (or cluster) and stack: requests sent,
    answered, exactly once, lost, duplicated, inside the SLA (outside Kafka's downtime and
    elections), archived."""
    from rdv_tools.bench.chaos import FAULTS, cluster_size, combined, run_scenario

    names = [n.strip() for n in scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in FAULTS and n != "combined"]
    if unknown or not names:
        known = ", ".join([*FAULTS, "combined"])
        raise ConfigError(f"unknown scenario {', '.join(unknown) or '(none)'}; known: {known}")
    for name in names:  # a mismatch fails now, not after the scenarios before it
        cluster_size(combined(COMBINED) if name == "combined" else FAULTS[name], nodes)
    results = []
    with console.status("starting") as status:
        for name in names:
            fault = combined(COMBINED) if name == "combined" else FAULTS[name]
            results.append(
                run_scenario(
                    name, fault, rate, seconds, sla_ms, status.update, nodes=nodes, settle_s=settle
                )
            )
            console.print(f"{name}: done")
    table = Table(title=f"chaos at {rate:g} requests/s, {seconds:g} s each, SLA {sla_ms} ms")
    for column in (
        "scenario",
        "fault",
        "nodes",
        "sent",
        "answered",
        "exactly once",
        "lost",
        "duplicated",
        "SLA met",
        "SLA at client",
        "before / during / after",
        "settled s",
        "outage s",
        "late",
        "archived",
    ):
        table.add_column(column, justify="left" if column in ("scenario", "fault") else "right")
    for r in results:
        table.add_row(
            r.scenario,
            r.fault,
            str(r.nodes),
            str(r.sent),
            str(r.answered),
            str(r.exactly_once),
            str(r.lost),
            str(r.duplicated),
            f"{r.sla_met:.1%}",
            f"{r.sla_met_client:.1%}",
            " / ".join(f"{share:.0%}" for share in r.sla_met_client_by_third),
            f"{r.settled_s:.1f}",
            f"{r.outage_s:.1f}",
            str(r.late),
            f"{r.archived:.1%}",
        )
    out.print(table)
    if json_file:
        figures = {"benchmark": "chaos", "machine": machine(), "rate": rate, "seconds": seconds}
        figures["scenarios"] = [r.as_dict() for r in results]
        json_file.write_text(json.dumps(figures, indent=2))
    if any(r.lost or r.duplicated for r in results):
        raise typer.Exit(1)
