"""CPU per process from /proc, as `rdv bench e2e` charges it."""

from __future__ import annotations

import os
import socket
import time

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


def test_the_listener_of_a_local_port_is_found() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert listener_pid(f"127.0.0.1:{port}") == os.getpid()
    assert listener_pid("broker.example:9092") is None
    assert cpu_seconds(os.getpid()) is not None
