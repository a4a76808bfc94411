"""Model artifacts for the integration tests: the login-bot examples the project ships."""

from __future__ import annotations

from pathlib import Path

from rdv_tools.demo.examples import login_bot_logistic, login_bot_tree


def logistic(
    directory: Path,
    version: str = "1",
    handle_invalid: str = "error",
    name: str = "login-bot",
    slope: float = 0.8,
) -> Path:
    return login_bot_logistic(directory, version, name, slope, handle_invalid)


def decision_tree(directory: Path, version: str = "0", name: str = "login-bot") -> Path:
    return login_bot_tree(directory, version, name)
