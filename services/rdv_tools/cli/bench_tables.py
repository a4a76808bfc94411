"""The tables of `rdv bench e2e`, `rdv bench soak` and the paced floor."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from rdv_tools.bench.e2e import E2EResult
from rdv_tools.bench.floor_cpu import SETTINGS, PacedFloor, settings_text
from rdv_tools.bench.machine import WINDOW_S
from rdv_tools.bench.transaction_cost import NextRecordCost


def e2e_table(result: E2EResult) -> Table:
    floor = result.floor.three_hop
    table = Table(
        title=f"end to end, {result.label}, SLA {result.sla_ms} ms (floor: Kafka three-hop "
        f"p50 {floor.p50_ms:.2f} ms, p99 {floor.p99_ms:.2f} ms)"
    )
    for column in (
        "rate/s",
        "sent",
        "answered",
        "answers/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "decided p99 ms",
        "in SLA at client",
        "late: decided / after",
        "after decision p99 ms",
        "p50 x floor",
        "p99 x floor",
        "reasons",
    ):
        table.add_column(column, justify="left" if column == "reasons" else "right")
    for r in result.rates:
        lat = r.latency
        table.add_row(
            f"{r.rate:g}",
            str(r.sent),
            str(r.answered),
            f"{r.answers_per_s:.0f}",
            f"{lat.p50_ms:.1f}" if lat else "-",
            f"{lat.p99_ms:.1f}" if lat else "-",
            f"{lat.p999_ms:.1f}" if lat else "-",
            f"{r.decided.p99_ms:.1f}" if r.decided else "-",
            f"{r.sla_met:.1%}",
            f"{r.late_decided} / {r.late_after_decision}",
            f"{r.after_decision.p99_ms:.1f}" if r.after_decision else "-",
            f"{lat.p50_ms / floor.p50_ms:.1f}" if lat else "-",
            f"{lat.p99_ms / floor.p99_ms:.1f}" if lat else "-",
            ", ".join(f"{k} {v}" for k, v in sorted(r.reasons.items())),
        )
    return table


def cpu_table(result: E2EResult) -> Table:
    """CPU µs per request per process at each rate, and the idle stack's share of a core."""
    names = sorted({n for r in result.rates for n in r.cpu_us} | set(result.idle))
    names = [n for n in names if n != "total"] + ["total"]
    loaded = any(r.machine for r in result.rates)
    table = Table(title="CPU per request from /proc (µs), and idle share of one core")
    table.add_column("rate/s", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    if loaded:
        # The machine as a whole: late answers come where every core is taken at once.
        table.add_column("cores busy", justify="right")
        table.add_column(f"all cores taken ({WINDOW_S * 1000:.0f} ms windows)", justify="right")
    blank = ["-", "-"] if loaded else []
    if result.idle:
        table.add_row("idle", *(f"{result.idle.get(n, 0.0):.1%}" for n in names), *blank)
    for r in result.rates:
        machine = [f"{r.machine.busy:.0%}", f"{r.machine.all_taken:.1%}"] if r.machine else blank
        cpu = (f"{r.cpu_us[n]:,.0f}" if n in r.cpu_us else "-" for n in names)
        table.add_row(f"{r.rate:g}", *cpu, *machine)
    return table


def broker_table(result: E2EResult) -> Table | None:
    """What the broker served per request at each rate, from its own counters (counts, so a
    change that saves the broker work shows exactly); None if no rate has them."""
    rows = [(r.rate, r.broker_served) for r in result.rates if r.broker_served]
    if not rows:
        return None
    table = Table(title="what the broker served per request (its own counters)")
    for column in (
        "rate/s",
        "requests",
        "produce",
        "fetch",
        "other",
        "messages in",
        "bytes in",
        "bytes out",
    ):
        table.add_column(column, justify="right")
    for rate, s in rows:
        table.add_row(
            f"{rate:g}",
            f"{s.requests:.2f}",
            f"{s.produce:.2f}",
            f"{s.fetch:.2f}",
            f"{s.other:.2f}",
            f"{s.messages_in:.2f}",
            f"{s.bytes_in:,.0f}",
            f"{s.bytes_out:,.0f}",
        )
    return table


def askers_table(result: E2EResult) -> Table | None:
    """Who sent the broker's requests: Kafka requests per request, by process; None if no
    rate has them (the broker is not on this machine, or `ss` is missing)."""
    rates = [r for r in result.rates if r.asked_by]
    if not rates:
        return None
    names = [*sorted({n for r in rates for n in r.asked_by} - {"total"}), "total"]
    table = Table(title="who asks the broker: Kafka requests sent per request (TCP segments)")
    table.add_column("rate/s", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    for r in rates:
        table.add_row(
            f"{r.rate:g}", *(f"{r.asked_by[n]:.2f}" if n in r.asked_by else "-" for n in names)
        )
    return table


def overload_table(result: E2EResult) -> Table:
    """The overload run: twice the saturation rate, then half of it."""
    o = result.overload
    assert o is not None
    table = Table(
        title=f"overload: twice the saturation rate ({o.saturation:g}/s), then half of it"
    )
    # Where the late answers were lost: a rendezvous behind decides late; CPU or Kafka short
    # for the path back to the client holds answers decided in time.
    for column in (
        "phase",
        "rate/s",
        "sent",
        "answered",
        "p50 ms",
        "p99 ms",
        "decided p99 ms",
        "in SLA",
        "late: decided / after",
        "reasons",
    ):
        table.add_column(column, justify="left" if column in ("phase", "reasons") else "right")
    for name, r in (("overload", o.load), ("recovery", o.recovery)):
        lat = r.latency
        table.add_row(
            name,
            f"{r.rate:g}",
            str(r.sent),
            str(r.answered),
            f"{lat.p50_ms:.1f}" if lat else "-",
            f"{lat.p99_ms:.1f}" if lat else "-",
            f"{r.decided.p99_ms:.1f}" if r.decided else "-",
            f"{r.sla_met:.1%}",
            f"{r.late_decided} / {r.late_after_decision}",
            ", ".join(f"{k} {v}" for k, v in sorted(r.reasons.items())),
        )
    back = o.recovered_after_s
    table.caption = "99% of each second's answers inside the SLA again " + (
        f"{back:.0f} s after the load dropped" if back is not None else "never: unanswered"
    )
    return table


def soak_table(samples: list[Any], services: list[str]) -> Table:
    table = Table(title="soak: one row per window")
    for column in ("minute", "sent", "answered", "p50 ms", "p99 ms", "decided p99 ms", *services):
        table.add_column(
            column
            if column in ("minute", "sent", "answered") or "ms" in column
            else f"{column} MB",
            justify="right",
        )
    for s in samples:
        table.add_row(
            f"{s.minute:.1f}",
            str(s.sent),
            str(s.answered),
            f"{s.p50_ms:.1f}" if s.p50_ms is not None else "-",
            f"{s.p99_ms:.1f}" if s.p99_ms is not None else "-",
            f"{s.decided_p99_ms:.1f}" if s.decided_p99_ms is not None else "-",
            *(f"{s.rss_mb[n]:.0f}" if n in s.rss_mb else "-" for n in services),
        )
    return table


def paced_table(paced: list[PacedFloor]) -> Table:
    """The floor pipeline at a fixed rate: latency and CPU per request per process."""
    names = sorted({n for p in paced for n in p.cpu_us if n != "total"})
    rates = ", ".join(f"{r:g}" for r in dict.fromkeys(p.rate for p in paced))
    table = Table(
        title=f"the three hops paced at {rates} requests/s: CPU per request from /proc (µs)",
        caption="; ".join(f"{n}: {settings_text(s)}" for n, s in SETTINGS.items()),
    )
    for column in ("rate/s", "client settings", "received", "p50 ms", "p99 ms", *names, "total"):
        table.add_column(column, justify="left" if column == "client settings" else "right")
    for p in paced:
        table.add_row(
            f"{p.rate:g}",
            p.settings,
            f"{p.received}/{p.sent}",
            f"{p.latency.p50_ms:.2f}",
            f"{p.latency.p99_ms:.2f}",
            *(f"{p.cpu_us.get(n, 0):,.0f}" for n in names),
            f"{p.cpu_us.get('total', 0):,.0f}",
        )
    return table


def next_record_table(costs: list[NextRecordCost]) -> Table:
    """How soon the transaction after a commit delivers its first record, by pause."""
    table = Table(
        title="the next transaction's first record, from the commit's return to its delivery"
    )
    for column in ("pause after the commit", "p50 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="right")
    for c in costs:
        lat = c.latency
        table.add_row(
            f"{c.pause_ms:g} ms",
            *(f"{v:.1f}" for v in (lat.p50_ms, lat.p99_ms, lat.max_ms)),
        )
    return table
