"""The embedded broker: starts, keeps data across restarts, stops without leaving a process."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rdv.kafka import Consumer, Outgoing, Producer, TopicSpec, create_topics
from rdv.kafka.local_broker import pid_is_broker
from rdv_tools.broker import EmbeddedBroker, running_state
from rdv_tools.broker.archiving import ensure_class_archive
from tests.cli import run_rdv

pytestmark = [pytest.mark.broker, pytest.mark.parallel]


def _read_all(bootstrap: str, topic: str, group: str, expected: int) -> list[bytes]:
    consumer = Consumer(bootstrap, group, [topic])
    values: list[bytes] = []
    deadline = time.monotonic() + 30
    while len(values) < expected and time.monotonic() < deadline:
        values += [m.value for m in consumer.poll_batch(100, 0.2) if m.value is not None]
    consumer.close()
    return values


def test_messages_survive_a_restart_on_the_same_data_dir(tmp_path: Path) -> None:
    broker = EmbeddedBroker(tmp_path / "kafka", owned=True)
    # The default start timeout (60 s): how fast a broker starts is a benchmark's figure, and
    # beside a parallel test's Spark job a start took over 20 s in CI (2026-12-02).
    broker.start()
    first_port = broker.state.port if broker.state else 0
    try:
        create_topics(broker.bootstrap, [TopicSpec("kept", 2)])
        producer = Producer(broker.bootstrap)
        for i in range(10):
            producer.send(Outgoing("kept", f"m{i}".encode(), f"k{i}".encode()))
        producer.flush()
        broker.stop()
        assert not (broker.state and pid_is_broker(broker.state.pid))

        broker.start()
        assert broker.state is not None and broker.state.port == first_port
        values = _read_all(broker.bootstrap, "kept", "after-restart", 10)
        assert sorted(values) == sorted(f"m{i}".encode() for i in range(10))
    finally:
        broker.stop()


def test_stop_leaves_no_process_and_a_throwaway_dir_is_removed() -> None:
    broker = EmbeddedBroker.throwaway().start()
    assert broker.state is not None
    pid, data_dir = broker.state.pid, broker.data_dir
    assert pid_is_broker(pid)
    assert broker.stop() is True
    assert not pid_is_broker(pid)
    assert not data_dir.exists()
    assert broker.stop() is False  # stopping twice is harmless


def _rdv(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RDV_HOME": str(home)}
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    return run_rdv(*args, env=env, timeout=120)


def test_cli_start_status_stop(tmp_path: Path) -> None:
    started = _rdv("broker", "start", home=tmp_path)
    try:
        assert started.returncode == 0, started.stderr
        bootstrap = started.stdout.strip().splitlines()[-1]
        assert bootstrap.startswith("127.0.0.1:")
        state = running_state(tmp_path / "broker")
        assert state is not None and state.bootstrap == bootstrap

        status = _rdv("broker", "status", home=tmp_path)
        assert status.returncode == 0 and bootstrap in status.stdout

        again = _rdv("broker", "start", home=tmp_path)
        assert again.returncode == 0 and "already runs" in again.stderr
    finally:
        stopped = _rdv("broker", "stop", home=tmp_path)
    assert stopped.returncode == 0
    assert running_state(tmp_path / "broker") is None
    assert state is not None and not pid_is_broker(state.pid)
    assert _rdv("broker", "status", home=tmp_path).returncode == 1


def test_a_taken_port_is_refused_with_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = _rdv("broker", "start", "--port", str(port), home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: port {port} is in use: choose another with --port"


def test_an_owned_broker_stops_when_its_owner_is_killed(tmp_path: Path) -> None:
    """A test run or `rdv up` SIGKILLed leaves no JVM behind holding its port."""
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from rdv_tools.broker.embedded import EmbeddedBroker\n"
        f"broker = EmbeddedBroker(Path({str(tmp_path / 'kafka')!r}), owned=True).start()\n"
        "print(broker.state.pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        pid = int(owner.stdout.readline())
        assert pid_is_broker(pid)
    finally:
        owner.kill()
        owner.wait(10)
    deadline = time.monotonic() + 60  # SIGTERM: Kafka's own controlled shutdown
    while pid_is_broker(pid):
        assert time.monotonic() < deadline, "the broker outlived its owner"
        time.sleep(0.2)


def _mapped_files(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_a_broker_maps_the_class_archive_and_starts_without_a_usable_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = ensure_class_archive(quiet=True)
    assert archive is not None and archive.stat().st_size > 1_000_000
    with EmbeddedBroker.throwaway() as broker:
        assert broker.state is not None
        assert str(archive) in _mapped_files(broker.state.pid)
    # A damaged archive (another JDK's, a torn file) costs the start its speed, never the start.
    damaged = tmp_path / "damaged.jsa"
    damaged.write_bytes(os.urandom(1 << 20))
    monkeypatch.setenv("KAFKA_OPTS", f"-XX:SharedArchiveFile={damaged}")
    with EmbeddedBroker.throwaway() as broker:
        assert broker.state is not None
        create_topics(broker.bootstrap, [TopicSpec("after-a-damaged-archive", 1)])
        assert str(damaged) not in _mapped_files(broker.state.pid)
