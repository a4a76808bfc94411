"""Models of every runtime side by side on a real broker: the champion in Spark's stage format,
a scikit-learn pipeline converted to ONNX as challenger, a custom Python class as canary.
Each is served by its own worker from the registry, and the rendezvous records all three."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from rdv.model.registry import Registry
from tests.external_models import onnx_artifact, python_artifact
from tests.integration.harness import send_requests, services
from tests.integration.stack import StackTopics
from tests.integration.test_rendezvous import (
    CONFIG,
    answers,
    models,
    records,
    start_workers,
    warm_up,
)

pytestmark = pytest.mark.broker


def registered(tmp_path: Path) -> dict[str, Path]:
    """The config's four models in a registry: login-bot@3 is ONNX, login-bot@1 Python."""
    registry = Registry(tmp_path / "registry")
    made = tmp_path / "made"
    made.mkdir()
    stages = models(made)
    external = {
        "login-bot@3": onnx_artifact(made, "login-bot", "3").path,
        "login-bot@1": python_artifact(made, "login-bot", "1").path,
    }
    paths = {}
    for model_id in CONFIG.models():
        source = external.get(model_id) or stages[model_id]
        assert source is not None
        paths[model_id] = registry.register(Path(source), {"registered_at": 0}).path / "artifact"
    shutil.rmtree(made)  # the workers serve what the registry holds
    return paths


def test_onnx_and_python_models_serve_beside_a_stage_model(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    stack = StackTopics(kafka_bootstrap)
    stack.publish(CONFIG)
    paths = registered(tmp_path)
    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        start_workers(launch, paths)
        launch("rendezvous")
        warm = warm_up(stack)
        sent = send_requests(stack.bootstrap, stack["requests"], 100, rate=50)
        ids = {r["request_id"] for r in sent}
        got = [a for a in answers(stack, 100 + warm) if a["request_id"] in ids]
        logged = [r for r in records(stack, 100 + warm) if r["request_id"] in ids]
    assert Counter(a["request_id"] for a in got) == Counter(ids)
    assert Counter(a["model"] for a in got).most_common(1)[0][0] == "login-bot@2"
    scored: Counter[str] = Counter()
    for record in logged:
        for candidate in record["candidates"]:
            if candidate["score"] is not None:
                scored[candidate["model"]] += 1
    # Every runtime scored nearly every request; the ONNX model and the Python one as well as
    # the stages (a few may miss a record on a loaded machine: their score came too late).
    for model in ("login-bot@2", "login-bot@3", "login-bot@1"):
        assert scored[model] >= 90, scored
    compared = [r for r in logged if r["delta_canary"]]
    assert len(compared) >= 90  # the canary's deltas against the champion were recorded
