"""A worker's metrics follow its models' roles in the config in force, not the role it was
started with: a promotion by config shows on the dashboards under the new role."""

from __future__ import annotations

from rdv.rollout.config import RolloutConfig
from rdv.worker.gathering import role_under
from rdv.worker.metrics import WorkerMetrics
from rdv.worker.scoring import BatchOutcome

CONFIG = RolloutConfig(champion="m@2", canary="m@1", fallback="f@1")


def sample(metrics: WorkerMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_the_config_names_the_role() -> None:
    assert role_under(CONFIG, "m@1", started_as="challenger") == "canary"
    assert role_under(CONFIG, "m@2", started_as=None) == "champion"


def test_the_start_up_role_stands_until_a_config_names_the_model() -> None:
    assert role_under(None, "m@1", started_as="canary") == "canary"
    assert role_under(CONFIG, "x@9", started_as="challenger") == "challenger"
    assert role_under(CONFIG, "x@9", started_as=None) == "none"


def test_a_promoted_model_counts_under_its_new_role() -> None:
    metrics = WorkerMetrics("m@1", "canary")
    metrics.observe(3, BatchOutcome(scored=3))
    metrics.relabel("champion")
    metrics.observe(2, BatchOutcome(scored=2, errors={"bad_feature": 1}))
    assert metrics.role == "champion"
    assert sample(metrics, "rdv_worker_scored_total", model="m@1", role="canary") == 3
    assert sample(metrics, "rdv_worker_scored_total", model="m@1", role="champion") == 2
    errors = sample(
        metrics, "rdv_worker_errors_total", model="m@1", role="champion", code="bad_feature"
    )
    assert errors == 1


def test_the_lag_leaves_the_old_role() -> None:
    metrics = WorkerMetrics("m@1", "canary")
    metrics.lag(0, 7)
    metrics.relabel("champion")
    metrics.lag(0, 2)
    lag = "rdv_worker_consumer_lag"
    assert sample(metrics, lag, model="m@1", role="canary", partition="0") is None
    assert sample(metrics, lag, model="m@1", role="champion", partition="0") == 2


def test_the_same_role_again_changes_nothing() -> None:
    metrics = WorkerMetrics("m@1", "canary")
    metrics.lag(0, 7)
    metrics.relabel("canary")
    assert sample(metrics, "rdv_worker_consumer_lag", model="m@1", role="canary", partition="0")
