"""Make-before-break: a new process takes over from the one it replaces (a rolling upgrade).

A restart that stops the old process first leaves its work undone while the new one starts
Python, imports and loads its config or model (1-2 s here). So a new process told its
predecessor's pid does all of that first, with the old one still serving, and only then asks it
to stop (SIGTERM: a rendezvous commits its transaction, a worker delivers and commits its
scores; both leave and exit) before opening its own Kafka clients and metrics port
(docs/operations.md)."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)


def exited(pid: int) -> bool:
    """The process has exited. An exited child its parent has not reaped yet still has a pid
    (a zombie), but it holds no socket or transaction any more. Its main thread alone being a
    zombie is not enough: the others may still be exiting, with the process's sockets (its
    metrics port) still open, so every thread must have exited."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, and someone else's
    try:
        stats = [task.read_text() for task in Path(f"/proc/{pid}/task").glob("*/stat")]
    except OSError:
        return False  # no /proc here (or the thread list changed as it was read): not yet
    return bool(stats) and all(stat[stat.rindex(")") + 2] in "ZX" for stat in stats)


def take_over(pid: int, timeout_s: float, stopping: threading.Event) -> float:
    """SIGTERM `pid` and wait until it has exited, at most `timeout_s`; seconds waited. Past the
    timeout (or if it is gone already) the new process goes on: its producer fences whatever
    the old one still holds. If this process is told to stop meanwhile, it returns at once and
    its caller must not go on."""
    began = time.monotonic()
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        log.warning("the process to take over from (pid %d) is not running", pid)
        return 0.0
    while not exited(pid):
        if stopping.is_set():
            log.info("stopping before taking over from pid %d", pid)
            return time.monotonic() - began
        if time.monotonic() - began > timeout_s:
            log.warning(
                "pid %d has not exited %.0f s after SIGTERM: taking over anyway", pid, timeout_s
            )
            return time.monotonic() - began
        time.sleep(0.005)
    waited = time.monotonic() - began
    log.info("took over from pid %d, which exited %.3f s after SIGTERM", pid, waited)
    return waited


def go_on_after_taking_over(pid: int | None, timeout_s: float, stopping: threading.Event) -> bool:
    """Take over from `pid`, if one is given; whether this process goes on (False: it was told
    to stop first, and must leave the old one's producer and group untouched)."""
    if pid is not None:
        take_over(pid, timeout_s, stopping)
    return not stopping.is_set()
