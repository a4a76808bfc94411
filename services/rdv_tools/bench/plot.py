"""PNG plots of benchmark figures: latency against rate (one line per run, so runs with other
partitions, models or delivery overlay), and a soak's latency and memory over time.

matplotlib is an optional dependency (`pip install 'rendezvous[bench]'`); without it, a plot
request is one clear error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rdv.errors import ConfigError


def run_label(models: str, partitions: int, delivery: str) -> str:
    who = {"champion": "champion only", "cohosted": "every role, models co-hosted"}.get(
        models, "every role"
    )
    return f"{who}, {partitions} partition{'s' if partitions != 1 else ''}, {delivery}"


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise ConfigError(
            "plots need matplotlib: pip install 'rendezvous[bench]' (make setup installs it)"
        ) from exc
    matplotlib.use("Agg")  # files only: no display on servers and in CI
    import matplotlib.pyplot as plt

    return plt


def latency_vs_rate(runs: list[dict[str, Any]], path: Path, title: str | None = None) -> Path:
    """`runs` as `rdv bench e2e --json` writes them. Client p50 (dashed) and p99 (solid)
    against the rate driven, log scale, with the SLA as a line."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    slas = set()
    for run in runs:
        rates = [r for r in run["rates"] if r["latency"]]
        label = run_label(run.get("models", "all"), run.get("partitions", 6), run["delivery"])
        x = [r["rate"] for r in rates]
        (line,) = ax.plot(
            x, [r["latency"]["p99_ms"] for r in rates], marker="o", label=f"p99, {label}"
        )
        ax.plot(
            x,
            [r["latency"]["p50_ms"] for r in rates],
            marker=".",
            linestyle="--",
            color=line.get_color(),
            label=f"p50, {label}",
        )
        slas.add(run["sla_ms"])
    for sla in sorted(slas):
        ax.axhline(sla, color="red", linewidth=1, linestyle=":", label=f"SLA {sla} ms")
    ax.set_xlabel("requests per second")
    ax.set_ylabel("client latency, send to answer (ms)")
    ax.set_yscale("log")
    ax.set_xscale("log")  # rates usually double from one step to the next
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(plt.matplotlib.ticker.ScalarFormatter())
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(title or "Rendezvous: end-to-end latency against rate")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def soak_over_time(samples: list[dict[str, Any]], path: Path, sla_ms: int) -> Path:
    """`samples` as `rdv bench soak --json` writes them: client p50/p99 per window above,
    resident memory of each service below, against minutes since the start."""
    plt = _pyplot()
    fig, (lat, mem) = plt.subplots(2, 1, figsize=(8, 7), dpi=120, sharex=True)
    minutes = [s["minute"] for s in samples]
    lat.plot(minutes, [s["p99_ms"] for s in samples], marker="o", label="p99")
    lat.plot(minutes, [s["p50_ms"] for s in samples], marker=".", linestyle="--", label="p50")
    lat.axhline(sla_ms, color="red", linewidth=1, linestyle=":", label=f"SLA {sla_ms} ms")
    lat.set_ylabel("client latency (ms)")
    lat.grid(True, alpha=0.3)
    lat.legend(fontsize=7)
    services = sorted({name for s in samples for name in s["rss_mb"]})
    for name in services:
        mem.plot(minutes, [s["rss_mb"].get(name) for s in samples], marker=".", label=name)
    mem.set_xlabel("minutes")
    mem.set_ylabel("resident memory (MB)")
    mem.grid(True, alpha=0.3)
    mem.legend(fontsize=7, ncol=2)
    lat.set_title("Rendezvous soak: latency and memory over time")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
