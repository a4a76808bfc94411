"""The first models of a fresh `rdv up`: labelled data generated, four models trained on PySpark
through the same gates as `rdv train`, registered and given their aliases."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rdv.errors import ConfigError
from rdv.model.registry import Registry
from rdv_tools.demo.stack import ROLES, example_models

# model id -> (estimator, grid). Each model's alias is its role in the example rollout
# (rdv_tools.demo.stack.ROLES); the canary is the plain, stable reference model.
FIRST_MODELS: dict[str, tuple[str, dict[str, list[Any]]]] = {
    "login-bot@1": ("logistic_regression", {}),
    "login-bot@2": ("gbt", {"maxDepth": [3]}),
    "login-bot@3": ("random_forest", {"numTrees": [20], "maxDepth": [5]}),
    "fast@1": ("decision_tree", {"maxDepth": [3]}),
}
TRAINING_ROWS = 4000

Progress = Callable[[str], None]


def first_models(registry: Registry, examples: bool, progress: Progress) -> dict[str, Path]:
    """Artifact folders of the four models, trained (or, with `examples`, the hand-made
    examples registered) when the registry does not hold them yet."""
    missing = [m for m in FIRST_MODELS if not (registry.root / m / "info.json").exists()]
    if missing:
        if examples:
            _register_examples(registry, missing)
        else:
            _train(registry, missing, progress)
    aliases = registry.aliases()
    for model in FIRST_MODELS:
        if ROLES[model] not in aliases:
            registry.alias(ROLES[model], model)
    return {model: registry.root / model / "artifact" for model in FIRST_MODELS}


SERVED_ROLES = ("champion", "challenger", "canary", "fallback")


def aliased_models(registry: Registry) -> tuple[dict[str, Path], dict[str, str]]:
    """The models the registry's aliases name, of whatever runtime, and each one's role
    (a model under two aliases serves in the first)."""
    aliases = registry.aliases()
    models: dict[str, Path] = {}
    roles: dict[str, str] = {}
    for role in SERVED_ROLES:
        if role not in aliases:
            continue
        entry = registry.get(aliases[role])
        models.setdefault(entry.model_id, entry.path / "artifact")
        roles.setdefault(entry.model_id, role)
    if "champion" not in roles.values():
        raise ConfigError(f"no champion in {registry.root}: `rdv models alias champion NAME@V`")
    return models, roles


def _register_examples(registry: Registry, missing: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = example_models(Path(tmp))
        for model in missing:
            registry.register(
                paths[model],
                {"registered_at": time.time(), "lineage": {"source": "hand-made example"}},
            )


def _train(registry: Registry, missing: list[str], progress: Progress) -> None:
    """Spark runs in a child process: its JVM's chatter goes to logs/training.log, and the
    progress lines it prints come back here."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "training the first models needs PySpark: pip install 'rendezvous-serving[train]' "
            "(or run with --example-models)"
        ) from exc
    log = registry.root.parent / "logs" / "training.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "rdv_tools.demo.first_models", str(registry.root), *missing],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        assert child.stdout is not None
        for line in child.stdout:
            progress(line.strip())
    if child.wait() != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise ConfigError(f"training the first models failed ({tail[0]}): see {log}")


def train_here(registry: Registry, missing: list[str], progress: Progress) -> None:
    from rdv.trainer.config import TrainConfig
    from rdv.trainer.train import train
    from rdv_tools.demo.generator import login_rows, write_csv
    from rdv_tools.spark_classes import spark_session

    data = registry.root.parent / "data" / "login-bot.csv"
    if not data.exists():
        progress(f"generating {TRAINING_ROWS} labelled rows into {data}")
        write_csv(data, login_rows(TRAINING_ROWS, seed=11))
    progress("starting Spark (local)")
    with spark_session("local[*]", "rdv-up-first-models", progress) as spark:
        for model in missing:
            name, version = model.split("@")
            estimator, grid = FIRST_MODELS[model]
            progress(f"training {model} ({estimator.replace('_', ' ')}) on PySpark")
            config = TrainConfig(
                name=name,
                version=version,
                data=data,
                positive="bot",
                numeric=["failed_logins", "account_age_days"],
                categorical=["country"],
                estimator=estimator,
                grid=grid,
                folds=2,
                registry=registry.root,
            )
            outcome = train(spark, config)
            if outcome.entry is None:
                failed = "; ".join(g.detail for g in outcome.report if not g.passed)
                raise ConfigError(f"{model} failed its gates: {failed}")


if __name__ == "__main__":
    try:
        train_here(Registry(Path(sys.argv[1])), sys.argv[2:], lambda m: print(m, flush=True))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)
