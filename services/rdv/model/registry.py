"""The model registry: a directory with one folder per name@version (artifact, metrics,
params, lineage) and aliases (champion, challenger, canary). Versions are never overwritten."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdv.errors import ConfigError
from rdv.model import ModelArtifact, load_artifact

ALIASES = ("champion", "challenger", "canary", "fallback")


@dataclass(frozen=True)
class Entry:
    model_id: str
    path: Path
    info: dict[str, Any]  # metrics, params, lineage

    @property
    def artifact(self) -> ModelArtifact:
        return load_artifact(self.path / "artifact")


class Registry:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _folder(self, model_id: str) -> Path:
        if "@" not in model_id or "/" in model_id:
            raise ConfigError(f"{model_id!r} is not a model name@version")
        return self.root / model_id

    def register(
        self, artifact_dir: Path, info: dict[str, Any], spark_model: Path | None = None
    ) -> Entry:
        """Copy an exported artifact in, with its metrics, params and lineage, and the fitted
        Spark pipeline when there is one (for `rdv score-batch`)."""
        artifact = load_artifact(artifact_dir)
        folder = self._folder(artifact.model_id)
        if folder.exists():
            raise ConfigError(
                f"{artifact.model_id} is already registered; versions are never "
                "overwritten: register it under a new version"
            )
        staging = self.root / f".{artifact.model_id}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        shutil.copytree(artifact_dir, staging / "artifact")
        if spark_model is not None:
            shutil.copytree(spark_model, staging / "spark-model")
        (staging / "info.json").write_text(json.dumps(info, indent=2, default=str))
        os.rename(staging, folder)  # all or nothing
        return self.get(artifact.model_id)

    def get(self, model_id: str) -> Entry:
        model_id = self.aliases().get(model_id, model_id)
        folder = self._folder(model_id)
        if not (folder / "info.json").exists():
            known = ", ".join(e.model_id for e in self.list()) or "none"
            raise ConfigError(f"no model {model_id} in {self.root} (registered: {known})")
        return Entry(model_id, folder, json.loads((folder / "info.json").read_text()))

    def list(self) -> list[Entry]:
        if not self.root.exists():
            return []
        return [
            self.get(p.name)
            for p in sorted(self.root.iterdir())
            if p.is_dir() and not p.name.startswith(".") and (p / "info.json").exists()
        ]

    def latest(self, name: str) -> Entry | None:
        versions = [e for e in self.list() if e.model_id.split("@")[0] == name]
        return max(versions, key=lambda e: e.info.get("registered_at", 0), default=None)

    def aliases(self) -> dict[str, str]:
        path = self.root / "aliases.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def alias(self, alias: str, model_id: str) -> None:
        if alias not in ALIASES:
            raise ConfigError(f"alias must be one of {', '.join(ALIASES)}, not {alias!r}")
        self.get(model_id)
        aliases = {**self.aliases(), alias: model_id}
        temporary = self.root / ".aliases.json.tmp"
        temporary.write_text(json.dumps(aliases, indent=2))
        os.replace(temporary, self.root / "aliases.json")
