"""A new process (rendezvous or worker) stops the one it replaces only when it is ready, and
waits for it to exit."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rdv.handover import exited, go_on_after_taking_over, take_over


def test_the_predecessor_is_stopped_and_waited_for() -> None:
    old = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    time.sleep(0.2)
    waited = take_over(old.pid, 10, threading.Event())
    # Exited (a zombie until reaped: it holds nothing any more), by the SIGTERM.
    assert old.wait(1) == -15
    assert waited < 10


def ignoring_sigterm() -> subprocess.Popen[str]:
    """A process that ignores SIGTERM, returned once it does."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('ready', flush=True)\ntime.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    return process


def test_one_that_ignores_sigterm_is_waited_for_no_longer_than_the_timeout() -> None:
    stubborn = ignoring_sigterm()
    try:
        waited = take_over(stubborn.pid, 0.3, threading.Event())
        assert 0.3 <= waited < 5
        assert stubborn.poll() is None
    finally:
        stubborn.kill()
        stubborn.wait()


def test_a_predecessor_alreadyexited_is_no_error() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert take_over(gone.pid, 1, threading.Event()) == 0.0


def test_a_successor_told_to_stop_while_waiting_gives_up_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stubborn = ignoring_sigterm()
    stopping = threading.Event()
    try:
        threading.Timer(0.2, stopping.set).start()
        with caplog.at_level(logging.INFO, logger="rdv.handover"):
            waited = take_over(stubborn.pid, 10, stopping)
        assert waited < 5
        assert "stopping before taking over" in caplog.text
        assert "took over" not in caplog.text
    finally:
        stubborn.kill()
        stubborn.wait()


def test_a_service_goes_on_unless_told_to_stop_before_taking_over() -> None:
    stopping = threading.Event()
    assert go_on_after_taking_over(None, 1, stopping)  # nothing to take over from
    old = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert go_on_after_taking_over(old.pid, 10, stopping)
        assert old.wait(5) != 0  # stopped by the SIGTERM
    finally:
        old.kill()
    stopping.set()
    assert not go_on_after_taking_over(None, 1, stopping)


def test_a_process_whose_main_thread_exited_first_isexited_only_when_every_thread_is() -> None:
    # Seen in CI: the old rendezvous's main thread was a zombie while its other threads were
    # still exiting with its metrics port open, and the successor could not bind it.
    script = (
        "import ctypes, threading, time\n"
        "threading.Thread(target=time.sleep, args=(1.5,)).start()\n"
        "ctypes.CDLL(None).pthread_exit(None)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 10
        while "Z" not in _main_thread_state(process.pid):  # the main thread has exited
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert not exited(process.pid)  # its other thread still runs
        deadline = time.monotonic() + 10
        while not exited(process.pid):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait(5)


def _main_thread_state(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]
