"""The report page: one HTML file with its plots inline, readable from disk with no server."""

from __future__ import annotations

import html
from datetime import datetime

import pandas as pd

from rdv_tools.report import analysis, figures
from rdv_tools.report.sources import Recorded

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.meta { color: #666; } .cards { display: flex; gap: 1em; flex-wrap: wrap; margin: 1em 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.6em 1em; min-width: 9em; }
.card b { display: block; font-size: 1.5em; } table { border-collapse: collapse; margin: 0.6em 0; }
td, th { border-bottom: 1px solid #eee; padding: 0.25em 0.8em; text-align: right; }
td:first-child, th:first-child { text-align: left; } img { max-width: 100%; }
.note { color: #a60; }
"""

# Lets a headless browser (and a reader) tell a complete page from a broken one.
CHECK = """
window.addEventListener('error', e => { document.body.dataset.error = e.message || 'error'; });
window.addEventListener('load', () => {
  const images = [...document.images];
  const broken = images.filter(i => !i.complete || i.naturalWidth === 0).length;
  document.body.dataset.plots = images.length - broken;
  if (broken) document.body.dataset.error = broken + ' plot(s) did not load';
});
"""


def _table(frame: pd.DataFrame, percent: tuple[str, ...] = (), digits: int = 3) -> str:
    if frame.empty:
        return "<p class=note>Nothing to show in this window.</p>"
    head = "".join(f"<th>{html.escape(str(c).replace('_', ' '))}</th>" for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for column, value in row.items():
            if isinstance(value, float):
                text = f"{value:.1%}" if column in percent else f"{value:.{digits}g}"
            else:
                text = str(value)
            cells.append(f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _card(label: str, value: str) -> str:
    return f"<div class=card><b>{html.escape(value)}</b>{html.escape(label)}</div>"


def _plot(uri: str, alt: str) -> str:
    return f'<p><img src="{uri}" alt="{html.escape(alt)}"></p>'


def _summary(records: pd.DataFrame) -> str:
    total = len(records)
    if total == 0:
        return "<p class=note>No records in this window.</p>"
    inside = (
        pd.to_datetime(records["answered_at"], utc=True)
        <= pd.to_datetime(records["deadline_at"], utc=True)
    ).mean()
    default = (records["answer_role"] == "default").mean()
    late = records["answer_late"].fillna(False).astype(bool).mean()
    return (
        "<div class=cards>"
        + _card("requests recorded", f"{total:,}")
        + _card("answered before the deadline", f"{inside:.1%}")
        + _card("default answers", f"{default:.1%}")
        + _card("marked late", f"{late:.1%}")
        + "</div>"
    )


def _rollout_table(recorded: Recorded) -> str:
    rows = [
        {
            "version": c.version,
            "published (UTC)": f"{datetime.fromtimestamp(c.published_at / 1000):%Y-%m-%d %H:%M:%S}"
            if c.published_at
            else "",
            "champion": c.champion,
            "mode": c.mode,
            "challengers": ", ".join(c.challengers),
            "canary": c.canary or "",
            "comment": c.comment or "",
        }
        for c in recorded.history
    ]
    return _table(pd.DataFrame(rows))


def render(recorded: Recorded, since: datetime, until: datetime) -> str:
    records = recorded.records
    cands = analysis.candidates(records)
    freq = analysis.bucket_size(records)
    agreement = pd.concat(
        [analysis.agreement(cands, "champion"), analysis.agreement(cands, "canary")],
        ignore_index=True,
    )
    quality = analysis.quality(cands, recorded.feedback)
    notes = "".join(f"<p class=note>Left out: {html.escape(m)}</p>" for m in recorded.missing)
    span = f"{since:%Y-%m-%d %H:%M:%S} to {until:%Y-%m-%d %H:%M:%S} UTC"
    sections = [
        f"<h1>Rendezvous report</h1><p class=meta>{span}, from the "
        f"{html.escape(recorded.source)}; time buckets of {freq}.</p>{notes}",
        _summary(records),
        "<h2>Latency by model</h2>",
        _table(analysis.latency_quantiles(cands)),
        _plot(figures.latency(cands), "latency by model"),
        "<h2>Scores, and agreement with the champion and the canary</h2>",
        "<p>Label-free comparison: on the requests both scored, the share given the same label "
        "and the mean absolute difference of the scores.</p>",
        _table(agreement, percent=("same_label",)),
        _plot(figures.scores(cands), "score distribution by model"),
        _plot(figures.qq(cands), "Q-Q plots against the champion and the canary"),
        "<h2>Answers over time</h2>",
        _plot(
            figures.over_time(
                analysis.answers_over_time(records, "answer_role", freq), "Answers by role"
            ),
            "answers by role",
        ),
        _plot(
            figures.over_time(
                analysis.answers_over_time(records, "answer_reason", freq), "Answers by reason"
            ),
            "answers by reason",
        ),
        "<h2>Canary drift</h2>",
        _plot(
            figures.canary_psi(analysis.canary_psi_over_time(cands, freq)), "canary PSI over time"
        ),
        "<h2>Quality from feedback</h2>",
        "<p>Where feedback carries a label: the share of each model's labels that match it.</p>",
        _table(quality, percent=("accuracy",)),
        "<h2>Rollout timeline</h2>",
        _plot(figures.rollout(recorded.history, since, until), "rollout timeline")
        if recorded.history
        else "",
        _rollout_table(recorded),
    ]
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>Rendezvous report</title><style>{STYLE}</style><script>{CHECK}</script></head>"
        f"<body>{''.join(sections)}</body></html>"
    )
