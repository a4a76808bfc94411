"""Child processes that do not outlive the tool that started them.

`guarded(command)` runs `command` through this module: it asks the kernel for SIGTERM when
its parent's launching thread ends (PR_SET_PDEATHSIG, Linux; kept across exec), checks the
parent did not die before that, and execs the command. A killed `rdv up` or test run so
leaves no orphan service or JVM behind. This is done in the child's own interpreter, not in
a `preexec_fn`: code run between fork and exec in a threaded parent can deadlock on a lock
(malloc's, the loader's) that another thread held at the fork.

`spawn(command, ...)` starts a guarded child from any thread: the kernel's signal follows the
launching thread, not the process, so a child started from a short-lived thread (a chaos
fault's) would be stopped as soon as that thread ended. Every spawn runs on one launcher
thread that lives as long as the process."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

_PR_SET_PDEATHSIG = 1


def guarded(command: Sequence[str]) -> list[str]:
    """`command`, to be started by this process, dying with it."""
    return [sys.executable, "-m", "rdv_tools.processes", str(os.getpid()), "--", *command]


# One worker thread, started on first use and idle between spawns: it ends only when the
# interpreter does, and the children with it.
_LAUNCHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="launcher")


def spawn(command: Sequence[str], **popen: Any) -> subprocess.Popen[bytes]:
    """`subprocess.Popen(command, **popen)`, the child dying with this process, whichever
    thread asks."""
    return _LAUNCHER.submit(_popen, guarded(command), popen).result()


def _popen(command: list[str], popen: dict[str, Any]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, **popen)


def main(argv: Sequence[str]) -> None:
    parent, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: python -m rdv_tools.processes PARENT_PID -- COMMAND ...")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        raise SystemExit(f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(ctypes.get_errno())}")
    if os.getppid() != int(parent):
        raise SystemExit(0)  # the parent died before the guard was in place
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
