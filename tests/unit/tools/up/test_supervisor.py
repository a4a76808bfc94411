"""The supervisor behind `rdv up`, on plain processes: restarts with backoff, holds, stops."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from rdv.handover import exited
from rdv_tools.up.supervisor import ServiceSpec, Supervisor, request_restart

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
CRASHER = [sys.executable, "-c", "import sys; print('crashing'); sys.exit(3)"]
CRASH_ONCE = (
    "import pathlib, sys, time\n"
    "marker = pathlib.Path({!r})\n"
    "if not marker.exists():\n"
    "    marker.touch()\n"
    "    sys.exit(3)\n"
    "time.sleep(60)\n"
)


def wait_for(condition: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_crashed_service_is_restarted_with_growing_backoff(tmp_path: Path) -> None:
    supervisor = Supervisor(
        tmp_path, {}, [ServiceSpec("crasher", CRASHER), ServiceSpec("steady", SLEEPER)]
    ).start()
    try:
        crasher = supervisor.services["crasher"]
        log_file = tmp_path / "logs" / "crasher.log"
        deadline = time.monotonic() + 20
        while (restarts := crasher.restarts) < 2:
            # A restart counted is a start in the log (CI once read the count before the line).
            assert log_file.read_text().count("starting") >= restarts + 1
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.005)
        assert crasher.last_exit == 3
        assert crasher.backoff_s >= 4  # 1 s, then 2 s, doubling
        assert supervisor.services["steady"].restarts == 0
        log = log_file.read_text()
        assert log.count("crashing") >= 2 and log.count("starting") >= 3
    finally:
        supervisor.stop()


def test_a_held_service_stays_down_until_released(tmp_path: Path) -> None:
    state = tmp_path / "stack.json"
    supervisor = Supervisor(
        tmp_path, {}, [ServiceSpec("model", SLEEPER, "champion", 9401)], state_file=state
    ).start()
    try:
        first = supervisor.services["model"].process
        assert first is not None
        supervisor.kill("model", hold=True)
        time.sleep(1.5)  # longer than the first backoff
        assert not supervisor.running("model")
        assert json.loads(state.read_text())["services"]["model"]["state"] == "held"
        supervisor.release("model")
        assert supervisor.running("model")
        assert supervisor.services["model"].process is not first
        snapshot = json.loads(state.read_text())["services"]["model"]
        assert snapshot["state"] == "running" and snapshot["restarts"] == 1
        assert snapshot["role"] == "champion" and snapshot["metrics_port"] == 9401
    finally:
        supervisor.stop()
    assert not state.exists()


def test_stop_ends_every_process(tmp_path: Path) -> None:
    supervisor = Supervisor(
        tmp_path, {}, [ServiceSpec("a", SLEEPER), ServiceSpec("b", SLEEPER)]
    ).start()
    processes = [s.process for s in supervisor.services.values()]
    supervisor.stop()
    assert all(p is not None and p.poll() is not None for p in processes)
    time.sleep(1.5)  # the watcher is gone: nothing comes back
    assert not any(supervisor.running(name) for name in ("a", "b"))


def test_environment_reaches_the_service(tmp_path: Path) -> None:
    printer = [sys.executable, "-c", "import os; print(os.environ['RDV_PROBE'])"]
    supervisor = Supervisor(tmp_path, {"RDV_PROBE": "hello"}, [ServiceSpec("p", printer)]).start()
    try:
        wait_for(lambda: "hello" in (tmp_path / "logs" / "p.log").read_text())
    finally:
        supervisor.stop()


def test_a_restart_asked_from_another_process_replaces_the_service_at_once(
    tmp_path: Path,
) -> None:
    state = tmp_path / "stack.json"
    supervisor = Supervisor(
        tmp_path, {}, [ServiceSpec("rendezvous", SLEEPER), ServiceSpec("decoy", SLEEPER)], state
    ).start()
    try:
        first = supervisor.services["rendezvous"].process
        assert first is not None
        request_restart(tmp_path, "rendezvous")  # what `rdv restart rendezvous` does
        request_restart(tmp_path, "nonesuch")
        wait_for(lambda: supervisor.services["rendezvous"].process is not first, timeout=5)
        assert first.wait(5) == -15  # SIGTERM: a clean hand-over, not a kill
        assert supervisor.running("rendezvous")

        def restarts() -> int:
            return int(json.loads(state.read_text())["services"]["rendezvous"]["restarts"])

        # The state file (what `rdv status` reads) follows the swap a moment later.
        wait_for(lambda: restarts() == 1, timeout=5)
        snapshot = json.loads(state.read_text())["services"]
        assert snapshot["rendezvous"]["restarts"] == 1 and snapshot["decoy"]["restarts"] == 0
        assert snapshot["rendezvous"]["pid"] != first.pid
        assert not list((tmp_path / "restart").iterdir())  # each request taken once
    finally:
        supervisor.stop()


# A service that, started with `--take-over PID`, gets ready, then stops its predecessor.
TAKER = [
    sys.executable,
    "-c",
    "import os, signal, sys, time\n"
    "if sys.argv[1:2] == ['--take-over']:\n"
    "    time.sleep(0.3)\n"
    "    print('taking over from', sys.argv[2], flush=True)\n"
    "    os.kill(int(sys.argv[2]), signal.SIGTERM)\n"
    "time.sleep(60)\n",
]
# One whose new process fails before it takes over.
FAILING_TAKER = [
    sys.executable,
    "-c",
    "import sys, time\nif sys.argv[1:2] == ['--take-over']:\n    sys.exit(4)\ntime.sleep(60)\n",
]


def test_a_service_that_takes_over_is_stopped_by_its_successor_once_that_is_ready(
    tmp_path: Path,
) -> None:
    supervisor = Supervisor(tmp_path, {}, [ServiceSpec("rendezvous", TAKER, takes_over=True)])
    supervisor.start()
    try:
        first = supervisor.services["rendezvous"].process
        assert first is not None
        supervisor.restart("rendezvous")  # returns once the old one has exited
        assert first.poll() == -15
        assert f"taking over from {first.pid}" in supervisor.log_path("rendezvous").read_text()
        assert supervisor.running("rendezvous")
        assert supervisor.services["rendezvous"].process is not first
    finally:
        supervisor.stop()


def test_a_successor_that_fails_before_taking_over_leaves_the_old_one_serving(
    tmp_path: Path,
) -> None:
    spec = ServiceSpec("rendezvous", FAILING_TAKER, takes_over=True)
    supervisor = Supervisor(tmp_path, {}, [spec]).start()
    try:
        first = supervisor.services["rendezvous"].process
        assert first is not None
        supervisor.restart("rendezvous")
        assert supervisor.services["rendezvous"].process is first
        assert first.poll() is None  # still answering
    finally:
        supervisor.stop()


def test_a_killed_supervisor_takes_its_services_along(tmp_path: Path) -> None:
    """`rdv up` SIGKILLed (a test's timeout, an OOM kill) must leave no service running on:
    orphans would keep joining the groups of whatever broker next takes their port."""
    state = tmp_path / "stack.json"
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from rdv_tools.up.supervisor import ServiceSpec, Supervisor\n"
        f"sleeper = {SLEEPER!r}\n"
        # 'b' crashes once and then stays: its second process is the watcher thread's.
        f"crash_once = {[sys.executable, '-c', CRASH_ONCE.format(str(tmp_path / 'crashed'))]!r}\n"
        f"s = Supervisor(Path({str(tmp_path)!r}), {{}}, [ServiceSpec('a', sleeper),"
        f" ServiceSpec('b', crash_once)], state_file=Path({str(state)!r})).start()\n"
        "while not (s.services['b'].restarts == 1 and s.running('b')):\n"
        "    time.sleep(0.05)\n"
        "s._write_state()\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "ready"
        pids = [s["pid"] for s in json.loads(state.read_text())["services"].values()]
        assert len(pids) == 2 and not any(exited(pid) for pid in pids)
    finally:
        parent.kill()
        parent.wait(10)
    wait_for(lambda: all(exited(pid) for pid in pids), timeout=10)


def test_state_written_from_two_threads_at_once_stays_whole(tmp_path: Path) -> None:
    """The watcher thread writes the state as services change, while the caller writes it on
    a kill or a restart: both stage the same file, and without a lock one replaced the other's
    staging away (FileNotFoundError, seen in CI)."""
    state = tmp_path / "stack.json"
    supervisor = Supervisor(tmp_path, {}, [], state_file=state)
    failures: list[BaseException] = []

    def write_many() -> None:
        try:
            for _ in range(300):
                supervisor._write_state()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=write_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert json.loads(state.read_text())["services"] == {}
