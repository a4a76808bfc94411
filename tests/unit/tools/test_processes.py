"""Children that do not outlive what started them, whichever thread started them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from rdv_tools.processes import spawn

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that died and was not yet reaped is a zombie, not alive.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_child_spawned_from_a_short_lived_thread_outlives_the_thread() -> None:
    started: list[subprocess.Popen[bytes]] = []

    def fault() -> None:
        started.append(spawn(SLEEP))
        # The thread goes on past the child's own start (its guard in place), as a chaos
        # fault's thread does: the kernel's signal follows the thread that forked the child.
        time.sleep(2)

    thread = threading.Thread(target=fault)
    thread.start()
    thread.join()
    [child] = started
    try:
        # The kernel's parent-death signal would have come when the thread ended.
        assert not gone_within(child.pid, 1.0)
    finally:
        child.kill()
        child.wait(10)


PARENT = """
import sys, threading
from rdv_tools.processes import spawn
started = []
thread = threading.Thread(target=lambda: started.append(spawn({sleep!r})))
thread.start()
thread.join()
print(started[0].pid, flush=True)
threading.Event().wait()
"""


def test_a_killed_parent_takes_a_child_spawned_from_any_thread_along(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT.format(sleep=SLEEP)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert gone_within(child, 10.0)
    finally:
        if parent.poll() is None:
            parent.kill()
