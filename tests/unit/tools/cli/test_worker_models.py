"""`rdv worker --model A --role r --model B --role s`: how repeated options become settings, and
the order in which `rdv up` co-hosts the example models."""

from __future__ import annotations

from pathlib import Path

import pytest

from rdv.errors import ConfigError
from rdv.worker.settings import HostedModel, WorkerSettings
from rdv_tools.cli.services_cmd import hosted_models
from rdv_tools.demo.stack import cohost_args, split_for_cohosting


def test_repeated_models_and_roles_pair_up_in_order() -> None:
    first, role, rest = hosted_models([Path("a"), Path("b"), Path("c")], ["champion", "x", "y"])
    settings = WorkerSettings(model=first, role=role, cohosted=rest)
    assert settings.hosted == [
        HostedModel(model=Path("a"), role="champion"),
        HostedModel(model=Path("b"), role="x"),
        HostedModel(model=Path("c"), role="y"),
    ]


def test_one_model_stays_as_before() -> None:
    assert hosted_models([Path("a")], ["champion"]) == (Path("a"), "champion", None)
    assert hosted_models([], []) == (None, None, None)  # the environment may give both


def test_a_role_count_that_does_not_match_the_models_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="2 --model but 1 --role"):
        hosted_models([Path("a"), Path("b")], ["champion"])


def test_the_fallback_keeps_its_own_process_and_the_champion_scores_first() -> None:
    models = {m: Path(m) for m in ("login-bot@3", "login-bot@1", "fast@1", "login-bot@2")}
    together, apart = split_for_cohosting(models)
    assert list(apart) == ["fast@1"]
    args, group = cohost_args(together)
    roles = [args[i + 1] for i, a in enumerate(args) if a == "--role"]
    assert roles == ["champion", "challenger", "canary"]
    assert group == "rdv-worker-login-bot@2+login-bot@3+login-bot@1"
