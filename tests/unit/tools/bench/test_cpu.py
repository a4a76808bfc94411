"""CPU per process from /proc, as `rdv bench e2e` charges it."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from rdv_tools.bench import cpu
from rdv_tools.bench.cpu import CpuMeter, CpuUse, cpu_seconds, listener_pid


def test_a_busy_process_is_charged_the_cpu_it_burnt() -> None:
    meter = CpuMeter({"me": os.getpid(), "gone": 2**22 + 1})
    meter.start()
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    use = meter.stop()
    assert set(use.charged) == {"me"}  # a pid that does not exist is left out
    assert 0.15 <= use.charged["me"] <= use.seconds + 0.05


def test_figures_per_request_and_share_of_a_core() -> None:
    use = CpuUse(seconds=2.0, charged={"broker": 0.5, "worker": 0.1})
    assert use.per_request_us(100) == {"broker": 5000.0, "worker": 1000.0, "total": 6000.0}
    assert use.share_of_core() == {"broker": 0.25, "worker": 0.05, "total": 0.3}
    assert use.per_request_us(0) == {}


def test_a_part_is_shown_beside_its_process_and_not_counted_twice() -> None:
    use = CpuUse(seconds=2.0, charged={"broker": 0.5}, parts={"broker JIT": 0.2})
    assert use.per_request_us(100) == {"broker": 5000.0, "broker JIT": 2000.0, "total": 5000.0}
    assert use.share_of_core()["total"] == 0.25


def test_the_named_threads_of_a_process_are_charged_to_its_part() -> None:
    # As the JVM names its compiler threads: a thread of this process named "C2 CompilerThre"
    # burns CPU, and only it is charged to the part.
    meter = CpuMeter({"me": os.getpid()}, {"compiler": ("me", ("C2 Compiler",))})
    named, done, measured = threading.Event(), threading.Event(), threading.Event()

    def compiler() -> None:
        Path(f"/proc/self/task/{threading.get_native_id()}/comm").write_text("C2 CompilerThre")
        named.set()
        deadline = time.thread_time() + 0.3
        while time.thread_time() < deadline:
            pass
        done.set()
        measured.wait(10)  # an ended thread's CPU leaves its process's task list

    thread = threading.Thread(target=compiler)
    meter.start()
    thread.start()
    named.wait(5)
    done.wait(10)
    use = meter.stop()
    measured.set()
    thread.join()
    assert 0.25 <= use.parts["compiler"] <= use.charged["me"]


def test_the_listener_of_a_local_port_is_found() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert listener_pid(f"127.0.0.1:{port}") == os.getpid()
    assert listener_pid("broker.example:9092") is None
    assert cpu_seconds(os.getpid()) is not None


def _metered(
    monkeypatch: pytest.MonkeyPatch,
    process_ticks: tuple[int, int],
    thread_ticks: tuple[int, int],
) -> cpu.CpuUse:
    """A meter over one process and its compiler thread, reading the given tick counts."""
    process = iter(t / 100 for t in process_ticks)
    thread = iter(t / 100 for t in thread_ticks)
    monkeypatch.setattr(cpu, "_TICK", 100)
    monkeypatch.setattr(cpu, "cpu_seconds", lambda pid: next(process))
    monkeypatch.setattr(cpu, "thread_cpu_seconds", lambda pid, p: next(thread))
    meter = cpu.CpuMeter({"me": 1}, {"compiler": ("me", ("C2",))})
    meter.start()
    return meter.stop()


def test_equal_tick_counts_give_equal_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    # Seen in CI: a process and its one busy thread both charged 29 ticks, yet the thread read
    # 0.29 s and the process 0.28999999999999915 s, from float subtraction of running totals.
    use = _metered(monkeypatch, process_ticks=(28, 57), thread_ticks=(0, 29))
    assert use.parts["compiler"] == use.charged["me"] == 0.29


def test_a_part_is_never_more_than_its_process(monkeypatch: pytest.MonkeyPatch) -> None:
    # Seen under load: the busy thread read 30 ticks while its whole process read 29, the
    # kernel rounding each figure on its own.
    use = _metered(monkeypatch, process_ticks=(28, 57), thread_ticks=(0, 30))
    assert use.parts["compiler"] == use.charged["me"] == 0.29
