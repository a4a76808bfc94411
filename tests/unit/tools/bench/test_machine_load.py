"""The machine's load as `rdv bench e2e` reads it from /proc/stat: how busy its cores were,
and how often all of them were taken at once."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from rdv_tools.bench.machine import MachineLoad, MachineSampler, read_cores

STAT = """cpu  300 10 100 500 20 0 5 0 0 0
cpu0 100 10 50 200 10 0 5 0 0 0
cpu1 200 0 50 300 10 0 0 0 0 0
intr 12345 0 0
ctxt 999
"""


def test_each_core_is_read_busy_and_in_all() -> None:
    # cpu0: user, nice, system and softirq busy (165), idle and iowait not (210); the
    # total line is not a core.
    assert read_cores(STAT) == [(165, 375), (250, 560)]


def test_steal_counts_as_busy_since_the_core_was_not_ours() -> None:
    assert read_cores("cpu0 0 0 0 50 0 0 0 50 0 0\n") == [(50, 100)]


def _reading(*cores: tuple[int, int]) -> list[tuple[int, int]]:
    return list(cores)


def test_a_window_counts_as_all_taken_only_when_every_core_was_busy() -> None:
    readings = [
        _reading((0, 0), (0, 0)),
        _reading((10, 10), (10, 10)),  # both cores busy the whole window
        _reading((20, 20), (12, 20)),  # one core busy, the other 20%
        _reading((29, 30), (21, 30)),  # 90% each: taken
    ]
    load = MachineLoad.of(readings)
    assert load is not None
    assert (load.cores, load.windows) == (2, 3)
    assert load.all_taken == pytest.approx(2 / 3)
    assert load.busy == pytest.approx((29 + 21) / 60)


def test_windows_without_ticks_or_with_a_core_gone_are_left_out() -> None:
    readings = [
        _reading((0, 0), (0, 0)),
        _reading((0, 0), (0, 0)),  # read twice inside one tick
        _reading((10, 10), (9, 10)),
        _reading((10, 10)),  # a core went offline
        _reading((20, 20), (10, 20)),
    ]
    load = MachineLoad.of(readings)
    assert load is not None and load.windows == 1 and load.all_taken == 1.0
    assert load.busy == pytest.approx(0.75)  # from the first reading to the last
    assert MachineLoad.of([_reading((1, 1))]) is None


def test_the_sampler_sees_this_machine_busy_while_every_core_spins() -> None:
    """Across the real /proc/stat: a process per core spinning for 0.6 s keeps every core
    taken (by it or by anything else running: both count)."""
    if not Path("/proc/stat").exists():
        pytest.skip("no /proc/stat: not Linux")
    cores = os.cpu_count() or 1
    # Processes, not threads: threads would share one core through the GIL.
    spinners = [multiprocessing.Process(target=_spin_for, args=(0.6,)) for _ in range(cores)]
    sampler = MachineSampler()
    sampler.start()
    for p in spinners:
        p.start()
    for p in spinners:
        p.join()
    load = sampler.stop()
    assert load is not None and load.cores == cores and load.windows >= 4
    assert load.busy >= 0.5 and load.all_taken > 0


def test_a_sampler_never_started_has_nothing_to_say() -> None:
    assert MachineSampler().stop() is None


def _spin_for(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass
