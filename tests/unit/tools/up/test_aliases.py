"""`rdv up` without the story serves what the registry's aliases name, of any runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

from rdv.errors import ConfigError
from rdv.model.registry import Registry
from rdv_tools.demo.first_models import aliased_models
from rdv_tools.demo.stack import example_models, rollout_for
from rdv_tools.up.plan import service_specs


def registry_with_examples(tmp_path: Path) -> Registry:
    registry = Registry(tmp_path / "registry")
    for path in example_models(tmp_path / "made").values():
        registry.register(path, {"registered_at": 0})
    return registry


def test_the_aliases_choose_the_models_and_their_roles(tmp_path: Path) -> None:
    registry = registry_with_examples(tmp_path)
    registry.alias("champion", "login-bot@3")
    registry.alias("challenger", "login-bot@2")
    registry.alias("fallback", "fast@1")
    models, roles = aliased_models(registry)
    assert roles == {"login-bot@3": "champion", "login-bot@2": "challenger", "fast@1": "fallback"}
    assert models["login-bot@3"] == registry.root / "login-bot@3" / "artifact"
    config = rollout_for(roles, 50)
    assert (config.champion, config.challengers, config.shadow) == (
        "login-bot@3",
        ("login-bot@2",),
        ("login-bot@2",),
    )
    assert config.canary is None and config.fallback == "fast@1"
    specs = {s.name: s for s in service_specs(models, tmp_path, 9400, roles=roles)}
    assert specs["login-bot@3"].role == "champion"
    assert "--role" in specs["login-bot@2"].command
    assert specs["login-bot@2"].command[specs["login-bot@2"].command.index("--role") + 1] == (
        "challenger"
    )


def test_no_champion_alias_is_one_clear_line(tmp_path: Path) -> None:
    registry = registry_with_examples(tmp_path)
    registry.alias("canary", "login-bot@1")
    with pytest.raises(ConfigError, match="rdv models alias champion"):
        aliased_models(registry)
