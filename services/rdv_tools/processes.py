"""Child processes that do not outlive the tool that started them.

`guarded(command)` runs `command` through this module: it asks the kernel for SIGTERM when
its parent's launching thread ends (PR_SET_PDEATHSIG, Linux; kept across exec), checks the
parent did not die before that, and execs the command. A killed `rdv up` or test run so
leaves no orphan service or JVM behind. This is done in the child's own interpreter, not in
a `preexec_fn`: code run between fork and exec in a threaded parent can deadlock on a lock
(malloc's, the loader's) that another thread held at the fork."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Sequence

_PR_SET_PDEATHSIG = 1


def guarded(command: Sequence[str]) -> list[str]:
    """`command`, to be started by this process, dying with it."""
    return [sys.executable, "-m", "rdv_tools.processes", str(os.getpid()), "--", *command]


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
