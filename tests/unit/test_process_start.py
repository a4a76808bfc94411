"""When a process started, as a new worker group reads from it: never after a request that
was produced once the process had been launched, even if the wall clock is stepped later."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from rdv import runtime


def test_a_launched_process_counts_itself_started_before_anything_sent_after_its_launch() -> None:
    launched_ms = time.time_ns() // 1_000_000
    probe = "from rdv.runtime import process_started_ms; print(process_started_ms())"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    started = int(out)
    assert started <= launched_ms  # a request produced after the launch is after the start
    assert started >= launched_ms - 5_000  # and not a backlog of old requests


def test_a_wall_clock_stepped_after_the_start_does_not_move_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = runtime.process_started_ms()
    stepped = time.time_ns() + 30 * 1_000_000_000
    monkeypatch.setattr(runtime.time, "time_ns", lambda: stepped)  # 30 s forward
    assert runtime.process_started_ms() == before
    assert runtime.process_started_ms(margin_ms=0) == before + 1000
