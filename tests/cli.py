"""`rdv ARGS` as a user runs it: a fresh interpreter through the CLI's entry point."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def run_rdv(
    *args: str,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """The finished command (output captured as text); `env` replaces the environment."""
    return subprocess.run(
        [sys.executable, "-m", "rdv_tools.cli", *args],
        env=None if env is None else dict(env),
        input=stdin,
        cwd=cwd,
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
