"""Build a settings object from environment plus command-line overrides, or say what is wrong."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from rdv.errors import ConfigError

S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """`cls` from its environment variables, with the non-None overrides on top."""
    try:
        return cls(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        problems = []
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"])
            problems.append(f"{name} ({prefix}{name.upper()}): {error['msg']}")
        raise ConfigError("; ".join(problems)) from exc


def yaml_problem(source: str, exc: Exception) -> str:
    """One line for a YAML syntax error: what and where (PyYAML's own message spans lines
    and draws a caret)."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{source} is not valid YAML: {problem}{where}"
