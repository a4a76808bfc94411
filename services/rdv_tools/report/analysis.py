"""The numbers on the page, from the records frame: pure pandas, no I/O.

A model is compared with the champion and with the canary on the requests both scored, by
role as each record names it, so a report that spans a rollout compares each request with
the champion of its own config."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rdv.drift import psi

CANDIDATE_COLUMNS = ["request_id", "answered_at", "model", "role", "score", "label", "error"]


def candidates(records: pd.DataFrame) -> pd.DataFrame:
    """One row per (record, model that reported): score, label, latency in ms."""
    rows = []
    for request_id, answered_at, cands in zip(
        records["request_id"], records["answered_at"], records["candidates"], strict=True
    ):
        for c in cands if cands is not None else ():
            rows.append(
                {
                    "request_id": request_id,
                    "answered_at": answered_at,
                    "model": c["model"],
                    "role": c["role"],
                    "score": c["score"],
                    "label": c["label"],
                    "error": c["error"],
                    "latency_ms": c["arrival_latency_us"] / 1000
                    if c["arrival_latency_us"] is not None
                    else np.nan,
                    "on_time": c["on_time"],
                }
            )
    frame = pd.DataFrame(rows, columns=[*CANDIDATE_COLUMNS, "latency_ms", "on_time"])
    frame["score"] = pd.to_numeric(frame["score"])
    return frame


def agreement(cands: pd.DataFrame, against: str) -> pd.DataFrame:
    """Per model, against the model of role `against` on the same requests: how many
    requests both scored, the share with the same label, the mean absolute score delta."""
    usable = cands[cands["error"].isna() & cands["score"].notna()]
    reference = usable[usable["role"] == against][["request_id", "model", "score", "label"]]
    pairs = usable.merge(reference, on="request_id", suffixes=("", "_ref"))
    pairs = pairs[pairs["model"] != pairs["model_ref"]]
    if pairs.empty:
        return pd.DataFrame(
            columns=["model", "against", "requests", "same_label", "mean_abs_delta"]
        )
    grouped = pairs.assign(
        same=pairs["label"] == pairs["label_ref"], delta=(pairs["score"] - pairs["score_ref"]).abs()
    ).groupby("model")
    return pd.DataFrame(
        {
            "against": grouped["model_ref"].agg(lambda s: ", ".join(sorted(set(s)))),
            "requests": grouped.size(),
            "same_label": grouped["same"].mean(),
            "mean_abs_delta": grouped["delta"].mean(),
        }
    ).reset_index()


def bucket_size(records: pd.DataFrame, buckets: int = 40) -> str:
    """A pandas frequency giving about `buckets` time buckets over the records' span."""
    if records.empty:
        return "1min"
    stamps = pd.to_datetime(records["answered_at"], utc=True)
    span = (stamps.max() - stamps.min()).total_seconds()
    for seconds, freq in (
        (1, "1s"),
        (5, "5s"),
        (15, "15s"),
        (60, "1min"),
        (300, "5min"),
        (900, "15min"),
        (3600, "1h"),
    ):
        if span / seconds <= buckets:
            return freq
    return "1D"


def answers_over_time(records: pd.DataFrame, column: str, freq: str) -> pd.DataFrame:
    """Answers per time bucket, one column per value of `column` (answer_role, answer_reason)."""
    if records.empty:
        return pd.DataFrame()
    stamps = pd.to_datetime(records["answered_at"], utc=True).dt.floor(freq)
    counts = records.groupby([stamps, records[column].fillna("none")]).size().unstack(fill_value=0)
    # Buckets with no answers are zeros, not gaps a plot would draw a line across.
    return counts.asfreq(freq, fill_value=0)


def canary_psi_over_time(cands: pd.DataFrame, freq: str, least: int = 30) -> pd.Series:
    """The canary's PSI per time bucket against its first quarter (at most 1,000 scores) of
    the window; buckets with fewer than `least` canary scores are left out."""
    canary = cands[(cands["role"] == "canary") & cands["score"].notna()].sort_values("answered_at")
    if len(canary) < 4 * least:
        return pd.Series(dtype=float)
    reference = canary["score"].to_numpy()[: min(1000, len(canary) // 4)]
    stamps = pd.to_datetime(canary["answered_at"], utc=True).dt.floor(freq)
    values = {
        when: psi(reference, group["score"].to_numpy())
        for when, group in canary.groupby(stamps)
        if len(group) >= least
    }
    return pd.Series(values, dtype=float)


def quality(cands: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    """Per model, on the requests whose feedback has a label: how many, and the share the
    model labelled the same."""
    labelled = feedback[feedback["label"].notna()][["request_id", "label"]]
    joined = cands[cands["label"].notna()].merge(labelled, on="request_id", suffixes=("", "_true"))
    if joined.empty:
        return pd.DataFrame(columns=["model", "judged", "accuracy"])
    grouped = joined.assign(right=joined["label"] == joined["label_true"]).groupby("model")
    return pd.DataFrame(
        {"judged": grouped.size(), "accuracy": grouped["right"].mean()}
    ).reset_index()


def latency_quantiles(cands: pd.DataFrame) -> pd.DataFrame:
    """Per model: scores reported, and p50/p90/p99 of their arrival after the request."""
    usable = cands[cands["latency_ms"].notna()]
    if usable.empty:
        return pd.DataFrame(columns=["model", "scores", "p50_ms", "p90_ms", "p99_ms"])
    grouped = usable.groupby("model")["latency_ms"]
    return pd.DataFrame(
        {
            "scores": grouped.size(),
            "p50_ms": grouped.quantile(0.5),
            "p90_ms": grouped.quantile(0.9),
            "p99_ms": grouped.quantile(0.99),
        }
    ).reset_index()
