"""Label-free comparison in the rendezvous's metrics: how each model agrees with the champion
and the canary on the same requests, before any feedback."""

from __future__ import annotations

from typing import Any

import pytest

from rdv.rendezvous.metrics import RendezvousMetrics


def candidate(
    model: str, role: str, score: float | None, label: str | None, error: Any = None
) -> dict[str, Any]:
    return {
        "model": model,
        "role": role,
        "score": score,
        "label": label,
        "error": error,
        "eval_latency_us": 100,
        "arrival_latency_us": 2_000,
        "on_time": True,
    }


def record(*candidates: dict[str, Any], champion: float, canary: float) -> Any:
    usable = [c for c in candidates if c["error"] is None]
    return {
        "candidates": list(candidates),
        "delta_champion": {c["model"]: c["score"] - champion for c in usable},
        "delta_canary": {c["model"]: c["score"] - canary for c in usable},
    }


def value(metrics: RendezvousMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def test_agreement_and_mean_absolute_delta_against_each_reference() -> None:
    metrics = RendezvousMetrics(sla_ms=50)
    # (champion, challenger, canary): scores and labels of two requests
    for (c2, l2), (c3, l3), (c1, l1) in (
        ((0.9, "bot"), (0.6, "bot"), (0.2, "human")),
        ((0.3, "human"), (0.7, "bot"), (0.4, "human")),
    ):
        metrics.recorded(
            record(
                candidate("a@2", "champion", c2, l2),
                candidate("a@3", "challenger", c3, l3),
                candidate("a@1", "canary", c1, l1),
                champion=c2,
                canary=c1,
            )
        )
    agree = "rdv_label_agreement_total"
    assert value(metrics, agree, model="a@3", against="champion", agrees="true") == 1
    assert value(metrics, agree, model="a@3", against="champion", agrees="false") == 1
    assert value(metrics, agree, model="a@3", against="canary", agrees="false") == 2
    assert value(metrics, agree, model="a@1", against="champion", agrees="false") == 1
    assert value(metrics, agree, model="a@1", against="champion", agrees="true") == 1
    # A model is not compared with itself.
    assert value(metrics, agree, model="a@2", against="champion", agrees="true") == 0
    labels = {"model": "a@3", "against": "champion"}
    mean = value(metrics, "rdv_score_delta_abs_sum", **labels) / value(
        metrics, "rdv_score_delta_abs_count", **labels
    )
    assert mean == pytest.approx((0.3 + 0.4) / 2)


def test_a_model_that_failed_is_left_out_of_agreement_and_quantiles() -> None:
    metrics = RendezvousMetrics(sla_ms=50)
    metrics.recorded(
        record(
            candidate("a@2", "champion", 0.9, "bot"),
            candidate("a@3", "challenger", None, None, error={"code": "model_error"}),
            champion=0.9,
            canary=0.0,
        )
    )
    assert value(metrics, "rdv_model_score_count", model="a@3") == 0
    assert value(metrics, "rdv_model_score_count", model="a@2") == 1
    assert value(metrics, "rdv_model_score_bucket", model="a@2", le="0.8") == 0
    assert value(metrics, "rdv_model_score_bucket", model="a@2", le="0.9") == 1
    for agrees in ("true", "false"):
        assert (
            value(
                metrics,
                "rdv_label_agreement_total",
                model="a@3",
                against="champion",
                agrees=agrees,
            )
            == 0
        )
