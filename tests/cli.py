"""`rdv ARGS` as a user runs it: a fresh interpreter through the CLI's entry point."""

from __future__ import annotations

import contextlib
import os
import signal
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
    """The finished command (output captured as text); `env` replaces the environment.

    The command runs in its own process group, and whatever ends the wait (its own timeout,
    pytest-timeout, Ctrl-C) kills the whole group: an `rdv up` left running would keep its
    services on the machine through every later test."""
    command = [sys.executable, "-m", "rdv_tools.cli", *args]
    with subprocess.Popen(
        command,
        env=None if env is None else dict(env),
        stdin=None if stdin is None else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            out, err = process.communicate(stdin, timeout=timeout)
        except BaseException:
            kill_group(process)
            raise
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
