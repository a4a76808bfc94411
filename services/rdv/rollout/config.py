"""The rollout config: who may answer, when, and how traffic is split. Validated before it is
published and again when it is read, so a bad one never takes effect."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import yaml

from rdv.errors import ConfigError
from rdv.settings_util import yaml_problem

MODEL_ID = re.compile(r"^[A-Za-z0-9_.\-]+@[A-Za-z0-9_.\-]+$")
TIER_ROLES = ("preferred", "champion", "challenger", "fallback")
MODES = ("fixed", "split", "thompson", "shadow")


@dataclass(frozen=True)
class Tier:
    use: str
    after_ms: int


@dataclass(frozen=True)
class RolloutConfig:
    champion: str
    sla_ms: int = 50
    grace_ms: int = 200
    schedule: tuple[Tier, ...] = (Tier("preferred", 0),)
    default_score: float | None = 0.0
    default_label: str | None = "unknown"
    challengers: tuple[str, ...] = ()
    canary: str | None = None
    fallback: str | None = None
    shadow: tuple[str, ...] = ()
    mode: str = "fixed"
    split: dict[str, float] = field(default_factory=dict)
    version: int = 0
    author: str = ""
    published_at: int = 0
    comment: str | None = None

    # -- roles ------------------------------------------------------------------------------
    def role_of(self, model: str) -> str:
        if model == self.champion:
            return "champion"
        if model in self.shadow:
            return "shadow"
        if model in self.challengers:
            return "challenger"
        if model == self.canary:
            return "canary"
        if model == self.fallback:
            return "fallback"
        return "unknown"

    def models(self) -> tuple[str, ...]:
        """Every model the config names, champion first."""
        return self._named

    @cached_property
    def _named(self) -> tuple[str, ...]:
        # Asked for each score a mailbox takes: built once, it cost 2.6% of the rendezvous.
        named = [self.champion, *self.challengers, *self.shadow]
        named += [m for m in (self.fallback, self.canary) if m]
        return tuple(dict.fromkeys(named))

    def answering(self) -> list[str]:
        """Models whose scores may be returned: never the canary or a shadow."""
        return [m for m in self.models() if m != self.canary and m not in self.shadow]

    def preferable(self) -> list[str]:
        """The models the traffic mode may prefer for a request (rdv.rendezvous.traffic)."""
        if self.mode == "split" and self.split:
            return list(self.split)
        if self.mode == "thompson":
            return [self.champion, *self.tier_models("challenger", None)]
        return [self.champion]  # fixed and shadow, and a split without weights

    def opens_at(self, model: str) -> int | None:
        """When, in ms after a request arrives, the schedule may first return this model's
        score (the earliest tier that can name it); None if it never may. A tier can open
        earlier when the ones before it have nothing usable (rdv.rendezvous.core)."""
        preferable = self.preferable()
        opens = [
            tier.after_ms
            for tier in self.schedule
            if model
            in (preferable if tier.use == "preferred" else self.tier_models(tier.use, None))
        ]
        return min(opens, default=None)

    def tier_models(self, use: str, preferred: str | None) -> list[str]:
        if use == "preferred":
            return [preferred] if preferred else [self.champion]
        if use == "champion":
            return [self.champion]
        if use == "challenger":
            return [m for m in self.challengers if m not in self.shadow]
        if use == "fallback":
            return [self.fallback] if self.fallback else []
        return [use]

    # -- validation -------------------------------------------------------------------------
    def problems(self) -> list[str]:
        found: list[str] = []
        if self.sla_ms <= 0:
            found.append(f"sla_ms must be positive, got {self.sla_ms}")
        if self.grace_ms < 0:
            found.append(f"grace_ms must not be negative, got {self.grace_ms}")
        for model in self.models():
            if not MODEL_ID.match(model):
                found.append(f"model {model!r} must be named name@version")
        if self.canary and self.canary in (self.champion, self.fallback, *self.challengers):
            found.append(f"the canary {self.canary} cannot also answer requests")
        if self.champion in self.shadow:
            found.append(f"the champion {self.champion} cannot be a shadow")
        if not self.schedule:
            found.append("schedule needs at least one tier")
        previous = -1
        for tier in self.schedule:
            found += self._tier_problems(tier, previous)
            previous = max(previous, tier.after_ms)
        if self.mode not in MODES:
            found.append(f"traffic mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.mode == "split":
            found += self._split_problems()
        if self.default_score is None and self.default_label is None:
            found.append("default needs a score or a label")
        return found

    def _tier_problems(self, tier: Tier, previous: int) -> list[str]:
        found = []
        if tier.after_ms < previous:
            found.append(
                f"tier {tier.use} opens at {tier.after_ms} ms, before the tier above it "
                f"({previous} ms): tiers must be in order"
            )
        if tier.after_ms < 0 or tier.after_ms >= self.sla_ms:
            found.append(
                f"tier {tier.use} opens at {tier.after_ms} ms, outside the SLA of {self.sla_ms} ms"
            )
        if tier.use not in TIER_ROLES:
            if not MODEL_ID.match(tier.use):
                found.append(
                    f"tier use {tier.use!r} must be one of {', '.join(TIER_ROLES)} "
                    "or a model name@version"
                )
            elif tier.use not in self.models():
                found.append(
                    f"tier names unknown model {tier.use}: declare it as champion, "
                    "challenger or fallback"
                )
            elif tier.use not in self.answering():
                found.append(f"tier names {tier.use}, a canary or shadow, which never answers")
        if tier.use == "fallback" and not self.fallback:
            found.append("schedule has a fallback tier but no fallback model is set")
        if tier.use == "challenger" and not self.tier_models("challenger", None):
            found.append("schedule has a challenger tier but there are no challengers")
        return found

    def _split_problems(self) -> list[str]:
        found = []
        if not self.split:
            found.append("split mode needs weights, e.g. {m@1: 0.8, m@2: 0.2}")
        for model, weight in self.split.items():
            if model not in self.answering():
                found.append(f"split names {model}, which is not the champion or a challenger")
            if not (0 <= weight <= 1) or math.isnan(weight):
                found.append(f"split weight of {model} must be between 0 and 1, got {weight}")
        total = sum(self.split.values())
        if self.split and not math.isclose(total, 1.0, abs_tol=1e-6):
            found.append(f"split weights sum to {total:g}, not 1")
        return found

    def validated(self) -> RolloutConfig:
        problems = self.problems()
        if problems:
            raise ConfigError("invalid rollout config: " + "; ".join(problems))
        return self

    # -- conversion -------------------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "sla_ms": self.sla_ms,
            "grace_ms": self.grace_ms,
            "schedule": [{"use": t.use, "after_ms": t.after_ms} for t in self.schedule],
            "default": {"score": self.default_score, "label": self.default_label},
            "champion": self.champion,
            "challengers": list(self.challengers),
            "canary": self.canary,
            "fallback": self.fallback,
            "shadow": list(self.shadow),
            "traffic": {"mode": self.mode, "split": dict(self.split)},
            "author": self.author,
            "published_at": self.published_at,
            "comment": self.comment,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> RolloutConfig:
        return cls(
            champion=record["champion"],
            sla_ms=record["sla_ms"],
            grace_ms=record["grace_ms"],
            schedule=tuple(Tier(t["use"], t["after_ms"]) for t in record["schedule"]),
            default_score=record["default"]["score"],
            default_label=record["default"]["label"],
            challengers=tuple(record["challengers"]),
            canary=record["canary"],
            fallback=record["fallback"],
            shadow=tuple(record["shadow"]),
            mode=record["traffic"]["mode"],
            split=dict(record["traffic"]["split"]),
            version=record["version"],
            author=record["author"],
            published_at=record["published_at"],
            comment=record["comment"],
        )

    def to_yaml(self) -> str:
        data = self.to_record()
        for internal in ("version", "author", "published_at", "comment"):
            data.pop(internal)
        return str(yaml.safe_dump(data, sort_keys=False))

    def evolve(self, **changes: Any) -> RolloutConfig:
        return replace(self, **changes)


def parse_config(text: str, source: str = "config") -> RolloutConfig:
    """A config from YAML or JSON as a user writes it (see docs/rollout.md)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(yaml_problem(source, exc)) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must be a mapping of settings")
    known = {
        "sla_ms",
        "grace_ms",
        "schedule",
        "default",
        "champion",
        "challengers",
        "canary",
        "fallback",
        "shadow",
        "traffic",
        "comment",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown settings {unknown}; known: {sorted(known)}")
    if "champion" not in data:
        raise ConfigError(f"{source}: champion is required (a model name@version)")
    try:
        default = data.get("default") or {}
        traffic = data.get("traffic") or {}
        return RolloutConfig(
            champion=str(data["champion"]),
            sla_ms=_whole(data.get("sla_ms", 50), "sla_ms", source),
            grace_ms=_whole(data.get("grace_ms", 200), "grace_ms", source),
            schedule=tuple(
                Tier(str(t["use"]), _whole(t["after_ms"], f"schedule[{i}].after_ms", source))
                for i, t in enumerate(data.get("schedule") or [{"use": "preferred", "after_ms": 0}])
            ),
            default_score=None
            if default.get("score") is None
            else _number(default["score"], "default.score", source),
            default_label=None if default.get("label") is None else str(default["label"]),
            challengers=tuple(str(m) for m in data.get("challengers") or ()),
            canary=None if data.get("canary") is None else str(data["canary"]),
            fallback=None if data.get("fallback") is None else str(data["fallback"]),
            shadow=tuple(str(m) for m in data.get("shadow") or ()),
            mode=str(traffic.get("mode", "fixed")),
            split={
                str(k): _number(v, f"traffic.split.{k}", source)
                for k, v in (traffic.get("split") or {}).items()
            },
            comment=data.get("comment"),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{source}: malformed setting ({exc}); see docs/rollout.md") from exc


def _whole(value: Any, name: str, source: str) -> int:
    """`value` as an int, or a ConfigError naming the setting (int()'s own message does not)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{source}: {name} must be a whole number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{source}: {name} must be a whole number, got {value!r}") from None
    if not number.is_integer():
        raise ConfigError(f"{source}: {name} must be a whole number, got {value!r}")
    return int(number)


def _number(value: Any, name: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{source}: {name} must be a number, got {value!r}")
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{source}: {name} must be a number, got {value!r}") from None
