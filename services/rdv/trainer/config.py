"""`rdv train --config FILE`: what to train on, how, and the gates it must pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rdv.errors import ConfigError
from rdv.settings_util import yaml_problem

CLASSIFIERS = ("logistic_regression", "decision_tree", "random_forest", "gbt")
REGRESSORS = (
    "linear_regression",
    "decision_tree_regressor",
    "random_forest_regressor",
    "gbt_regressor",
)


class Gates(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_bad_share: float = Field(0.05, ge=0, le=1)  # of input rows that are broken
    iteration_band: float = Field(0.5, ge=0)  # |iterations - previous| <= band x previous
    metric_margin: float = Field(0.02, ge=0)  # held-out AUC may trail the champion's by this
    max_psi: float = Field(0.25, ge=0)  # candidate vs champion scores on replayed inputs
    replay: Path | None = None  # a decoy archive whose inputs are replayed through both


class TrainConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    version: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    data: Path | None = None  # CSV with a header row or Parquet (*.parquet), or:
    archive: Path | None = None  # a decoy archive ...
    feedback: Path | None = None  # ... joined to feedback exported by `rdv feedback export`
    label: str = "label"
    positive: str | None = None  # the label value that is class 1 (classifiers)
    numeric: list[str]
    categorical: list[str] = []
    estimator: Literal[
        "logistic_regression",
        "decision_tree",
        "random_forest",
        "gbt",
        "linear_regression",
        "decision_tree_regressor",
        "random_forest_regressor",
        "gbt_regressor",
    ]
    grid: dict[str, list[Any]] = {}
    test_fraction: float = Field(0.2, gt=0, lt=1)
    folds: int = Field(3, ge=2)
    seed: int = 7
    registry: Path = Path("registry")
    gates: Gates = Gates()

    @property
    def regression(self) -> bool:
        return self.estimator in REGRESSORS


def load_train_config(path: Path) -> TrainConfig:
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(yaml_problem(str(path), exc)) from exc
    try:
        config = TrainConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from exc
    if (config.data is None) == (config.archive is None) or (
        (config.archive is None) != (config.feedback is None)
    ):
        raise ConfigError(f"{path}: give either data (a CSV file) or archive and feedback")
    if not config.regression and config.positive is None:
        raise ConfigError(
            f"{path}: positive (the label value that is class 1) is required for {config.estimator}"
        )
    base = path.parent
    gates = config.gates

    def resolve(p: Path | None) -> Path | None:
        return base / p if p is not None else None

    return config.model_copy(
        update={
            "data": resolve(config.data),
            "archive": resolve(config.archive),
            "feedback": resolve(config.feedback),
            "registry": base / config.registry,
            "gates": gates.model_copy(update={"replay": resolve(gates.replay)}),
        }
    )
