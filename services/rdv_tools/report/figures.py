"""The report's plots, as inline PNG data URIs (the page opens from disk with no server)."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

# Figures made directly, not through pyplot: no display and no global state, so a report can
# be made on a server or in a test.
from matplotlib.figure import Figure

from rdv.rollout.config import RolloutConfig

QUANTILES = np.linspace(0.01, 0.99, 99)


def data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _days(moment: datetime) -> float:
    """Matplotlib's date axis unit: days since its epoch (1970-01-01, naive UTC)."""
    return (moment - datetime(1970, 1, 1)).total_seconds() / 86400


def _legend(axes: Any) -> None:
    if axes.get_legend_handles_labels()[1]:
        axes.legend(fontsize=8)


def latency(cands: pd.DataFrame) -> str:
    figure = Figure(figsize=(7, 3.6))
    axes = figure.subplots()
    for model, group in sorted(cands[cands["latency_ms"].notna()].groupby("model")):
        values = np.sort(group["latency_ms"].to_numpy())
        axes.step(values, np.arange(1, len(values) + 1) / len(values), label=model, where="post")
    axes.set_xscale("log")
    axes.set_xlabel("score arrived after the request reached the rendezvous (ms, log)")
    axes.set_ylabel("share of scores")
    axes.set_title("Latency by model")
    axes.grid(alpha=0.3)
    _legend(axes)
    return data_uri(figure)


def scores(cands: pd.DataFrame) -> str:
    figure = Figure(figsize=(7, 3.6))
    axes = figure.subplots()
    usable = cands[cands["score"].notna()]
    for model, group in sorted(usable.groupby("model")):
        axes.hist(group["score"], bins=40, range=(0, 1), histtype="step", label=model, density=True)
    axes.set_xlabel("score")
    axes.set_ylabel("density")
    axes.set_title("Score distribution by model")
    _legend(axes)
    return data_uri(figure)


def qq(cands: pd.DataFrame) -> str:
    """Quantiles of each model's scores against the champion's and the canary's."""
    figure = Figure(figsize=(9, 4))
    panels = figure.subplots(1, 2, sharey=True)
    usable = cands[cands["score"].notna()]
    for axes, role in zip(panels, ("champion", "canary"), strict=True):
        reference = usable[usable["role"] == role]["score"].to_numpy()
        axes.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle="--")
        if len(reference):
            ref_q = np.quantile(reference, QUANTILES)
            for model, group in sorted(usable[usable["role"] != role].groupby("model")):
                axes.plot(
                    ref_q, np.quantile(group["score"], QUANTILES), ".", markersize=3, label=model
                )
            _legend(axes)
        axes.set_xlabel(f"{role} score quantiles")
        axes.set_title(f"Q-Q against the {role}")
        axes.grid(alpha=0.3)
    panels[0].set_ylabel("model score quantiles")
    return data_uri(figure)


def over_time(counts: pd.DataFrame, title: str) -> str:
    figure = Figure(figsize=(9, 3.4))
    axes = figure.subplots()
    if not counts.empty:
        times = (
            counts.index.tz_convert(None) if hasattr(counts.index, "tz_convert") else counts.index
        )
        axes.stackplot(times, *(counts[c] for c in counts.columns), labels=list(counts.columns))
        axes.legend(fontsize=8, loc="upper left")
    axes.set_ylabel("answers per bucket")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    return data_uri(figure)


def canary_psi(values: pd.Series) -> str:
    figure = Figure(figsize=(9, 3))
    axes = figure.subplots()
    if not values.empty:
        axes.plot(values.index.tz_convert(None), values.to_numpy(), marker="o", markersize=3)
    for level, words in ((0.1, "watch"), (0.25, "drift")):
        axes.axhline(level, color="orange" if level < 0.2 else "red", linewidth=0.8, linestyle="--")
        axes.text(
            0.995,
            level,
            words,
            transform=axes.get_yaxis_transform(),
            ha="right",
            va="bottom",
            fontsize=8,
        )
    axes.set_ylabel("PSI")
    axes.set_title("Canary score drift (PSI against the window's first quarter)")
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    return data_uri(figure)


def rollout(history: list[RolloutConfig], since: datetime, until: datetime) -> str:
    """The version in force over the window: each version from its publication (or the
    window's start, for the one already in force) to the next."""
    figure = Figure(figsize=(9, 2.6))
    axes = figure.subplots()
    start, end = since.replace(tzinfo=None), until.replace(tzinfo=None)
    published = [h for h in history if h.published_at > 0]
    moments = [
        datetime.fromtimestamp(h.published_at / 1000, UTC).replace(tzinfo=None) for h in published
    ]
    shown = [(max(m, start), h) for m, h in zip(moments, published, strict=True) if m < end]
    # The versions replaced before the window opened are not shown; the last of them is.
    while len(shown) > 1 and shown[1][0] <= start:
        shown.pop(0)
    if shown:
        times = [m for m, _ in shown] + [end]
        versions = [h.version for _, h in shown]
        axes.step([_days(t) for t in times], [*versions, versions[-1]], where="post")
        for when, config in shown:
            axes.annotate(
                f"v{config.version} {config.champion} ({config.mode})",
                (_days(when), config.version),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
    axes.set_xlim(_days(start), _days(end))
    axes.xaxis_date()
    axes.set_ylabel("config version")
    axes.set_title("Rollout timeline")
    axes.grid(alpha=0.3)
    figure.autofmt_xdate()
    return data_uri(figure)
