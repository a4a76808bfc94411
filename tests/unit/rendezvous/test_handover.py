"""A new rendezvous stops the one it replaces only when it is ready, and waits for it to exit."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from rdv.rendezvous.handover import take_over


def test_the_predecessor_is_stopped_and_waited_for() -> None:
    old = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    time.sleep(0.2)
    waited = take_over(old.pid, 10, threading.Event())
    # Exited (a zombie until reaped: it holds nothing any more), by the SIGTERM.
    assert old.wait(1) == -15
    assert waited < 10


def test_one_that_ignores_sigterm_is_waited_for_no_longer_than_the_timeout() -> None:
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "print('ready', flush=True)\ntime.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert stubborn.stdout is not None and stubborn.stdout.readline() == "ready\n"
        waited = take_over(stubborn.pid, 0.3, threading.Event())
        assert 0.3 <= waited < 5
        assert stubborn.poll() is None
    finally:
        stubborn.kill()
        stubborn.wait()


def test_a_predecessor_already_gone_is_no_error() -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert take_over(gone.pid, 1, threading.Event()) == 0.0
