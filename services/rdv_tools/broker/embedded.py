"""A real Apache Kafka broker (KRaft, single node) run on the machine's JDK, no Docker.

`EmbeddedBroker` formats storage, starts `kafka.Kafka` on loopback, waits until it answers
metadata requests and stops it with SIGTERM, then SIGKILL after a timeout. Its state
(pid, ports) lives in `<data-dir>/broker.json`, so `rdv broker stop` and `status` in another
process find it, and a persistent data dir keeps messages across restarts.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from types import TracebackType

from pydantic import SecretStr

from rdv.errors import BrokerError
from rdv.kafka.local_broker import (
    STATE_FILE,
    BrokerState,
    default_data_dir,
    pid_is_broker,
    read_state,
    running_state,
)
from rdv.kafka.settings import KafkaSettings
from rdv.paths import kafka_pom_dir
from rdv_tools.broker.class_archive import (
    COLLECTOR,
    archive_path,
    dump_options,
    java_runtime,
    sharing_options,
)
from rdv_tools.broker.jars import ensure_jars, pinned_kafka_version
from rdv_tools.broker.properties import BROKER_USER, Node, new_cluster_id, server_properties
from rdv_tools.broker.tls import TlsFiles, ensure_tls
from rdv_tools.processes import guarded


def listening_port(preferred: int | None = None) -> int:
    """A port for a broker to listen on: `preferred` if free, else a free one below the
    kernel's ephemeral range. Kernel-picked ports come from that range, and while a broker
    is down its clients' reconnects can take its port there (a connect to a closed local
    port may bind to that very port), so a restart would have to move."""
    if preferred and free_port(preferred) == preferred:
        return preferred
    low, _ = _ephemeral_range()
    rng = random.Random()
    for _ in range(200):
        candidate = rng.randrange(max(1024, low - 12000), low)
        if free_port(candidate) == candidate:
            return candidate
    return free_port()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port(preferred: int | None = None) -> int:
    """`preferred` if nothing listens there, else a port the kernel picks."""
    for candidate in ([preferred] if preferred else []) + [0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # As the JVM does: a port whose last connections linger in TIME_WAIT is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise BrokerError("no free TCP port on 127.0.0.1")


def gc_threads() -> int:
    """Threads of the broker's young collections: half this process's cores, since the broker
    shares them with the stack. With one per core, a collection waited for a thread the
    kernel had given a service: at 2,000 requests/s on 2 cores, 18 pauses over 50 ms (up to
    430) in five minutes of load with 2 threads, 1 with one thread (docs/performance.md,
    "The broker's collector threads")."""
    return max(1, len(os.sched_getaffinity(0)) // 2)


def jvm_command(
    java: str,
    heap: str,
    logs: Path,
    libs: Path,
    properties: Path,
    class_options: list[str] | None = None,
) -> list[str]:
    """The broker's command line. As kafka-server-start.sh does, the options in KAFKA_OPTS
    come after ours, so that a user's heap, GC or JIT setting wins (docs/performance.md has
    what the JIT costs a fresh broker here). `class_options` use or write the class archive
    (rdv_tools.broker.class_archive)."""
    user_options = shlex.split(os.environ.get("KAFKA_OPTS", ""))
    return [
        java,
        f"-Xmx{heap}",
        # The whole heap from the start: left to size itself, the parallel collector kept it
        # near 350 MB and collected all of it every few minutes under load (a 126 ms pause).
        # A user's own heap size wins: ours would contradict a smaller -Xmx.
        *([] if any(o.startswith(("-Xmx", "-Xms")) for o in user_options) else [f"-Xms{heap}"]),
        # The parallel collector stops the broker 3-10 ms per young collection, but spends
        # far less CPU than ZGC's concurrent cycles, which took a core for 100-200 ms every
        # few seconds on this 2-core machine while the services waited for it: at 2,000
        # requests/s the client's p99 was 44-65 ms against ZGC's 64-123 (docs/performance.md,
        # "The broker's collector, again").
        COLLECTOR,
        f"-XX:ParallelGCThreads={gc_threads()}",
        "-Djava.awt.headless=true",
        f"-Dkafka.logs.dir={logs}",
        f"-Dlog4j2.configurationFile={kafka_pom_dir() / 'log4j2.properties'}",
        *(class_options or []),
        *user_options,
        "-cp",
        f"{libs}/*",
        "kafka.Kafka",
        str(properties),
    ]


class EmbeddedBroker:
    """One broker process. `owned=True` ties its life to this Python process."""

    def __init__(
        self,
        data_dir: Path | None = None,
        port: int | None = None,
        owned: bool = False,
        heap: str = "768m",
        ephemeral: bool = False,
        sasl_users: Mapping[str, str] | None = None,
        controller_port: int | None = None,
        node: Node | None = None,
        cluster_id: str | None = None,
        tls: bool = False,
        dump_classes_to: Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        # An SSL client listener with a CA and certificate made in <data dir>/tls.
        self.tls = tls
        self.requested_port = port
        self.requested_controller_port = controller_port
        # A node of a cluster (`BrokerCluster`): its id, the quorum, the cluster's shared id.
        self.node = node
        self.cluster_id = cluster_id
        self.owned = owned
        self.heap = heap
        # Where this broker writes the classes it loaded when it exits (the archive's one
        # training start, rdv_tools.broker.archiving); others map the archive if there is one.
        self.dump_classes_to = dump_classes_to
        self.ephemeral = ephemeral
        # SASL/PLAIN users (name -> password) for a SASL_PLAINTEXT client listener; the broker's
        # own user is added with a random password.
        self.sasl_users = (
            {BROKER_USER: secrets.token_urlsafe(16), **sasl_users} if sasl_users else None
        )
        self.state: BrokerState | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @classmethod
    def throwaway(
        cls, sasl_users: Mapping[str, str] | None = None, tls: bool = False
    ) -> EmbeddedBroker:
        """A broker on a fresh temporary dir and free port, deleted when stopped (tests)."""
        return cls(
            Path(tempfile.mkdtemp(prefix="rdv-kafka-")),
            owned=True,
            ephemeral=True,
            sasl_users=sasl_users,
            tls=tls,
        )

    @property
    def tls_files(self) -> TlsFiles | None:
        """The CA clients trust and the broker's keystore, once made (`tls=True`)."""
        return TlsFiles.in_dir(self.data_dir / "tls") if self.tls else None

    @property
    def bootstrap(self) -> str:
        if self.state is None:
            raise BrokerError("the broker is not running")
        return self.state.bootstrap

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "server.log"

    def _format_storage(self, libs: Path, java: str, properties: Path) -> None:
        if (self.data_dir / "kafka-logs" / "meta.properties").exists():
            return
        cmd = [
            java,
            # A run of a second or two: compiling for peak speed only costs it (~0.5 s here).
            "-XX:TieredStopAtLevel=1",
            "-cp",
            f"{libs}/*",
            "kafka.tools.StorageTool",
            "format",
            "-t",
            self.cluster_id or new_cluster_id(),
            "-c",
            str(properties),
            "--ignore-formatted",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BrokerError(f"formatting Kafka storage failed: {result.stderr.strip()[-500:]}")

    def _choose_ports(self) -> tuple[int, int]:
        previous = read_state(self.data_dir)
        if self.requested_port:
            port = self.requested_port
            if free_port(port) != port:
                raise BrokerError(f"port {port} is in use: choose another with --port")
        else:
            # Kafka's customary port for the long-lived broker, so kcat and friends find it.
            customary = 9092 if self.data_dir == default_data_dir() else None
            port = listening_port(previous.port if previous else customary)
        if self.requested_controller_port:
            return port, self.requested_controller_port
        controller = listening_port(previous.controller_port if previous else None)
        if controller == port:
            controller = listening_port()
        return port, controller

    def start(self, timeout: float = 60.0, wait: bool = True) -> EmbeddedBroker:
        """Start the JVM; with `wait`, return once it answers (else at once)."""
        if self.owned and threading.current_thread() is not threading.main_thread():
            # PR_SET_PDEATHSIG fires when the *thread* that started the broker ends, so an
            # owned broker started from a short-lived thread would be killed right away.
            raise BrokerError("an owned broker must be started from the main thread")
        running = running_state(self.data_dir)
        if running:
            raise BrokerError(
                f"a broker already runs from {self.data_dir} on {running.bootstrap} "
                f"(pid {running.pid}): stop it first with `rdv broker stop`"
            )
        libs = ensure_jars()
        java = java_runtime()
        port, controller_port = self._choose_ports()
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        properties = self.data_dir / "server.properties"
        log_dirs = self.data_dir / "kafka-logs"
        # The file may hold SASL passwords: readable by this user only.
        properties.touch(mode=0o600)
        tls = ensure_tls(self.data_dir / "tls") if self.tls else None
        properties.write_text(
            server_properties(port, controller_port, log_dirs, self.sasl_users, self.node, tls)
        )
        self._format_storage(libs, java, properties)
        classes = (
            dump_options(self.dump_classes_to)
            if self.dump_classes_to
            else sharing_options(archive_path(libs, java))
        )
        cmd = jvm_command(java, self.heap, self.data_dir / "logs", libs, properties, classes)
        with open(self.data_dir / "logs" / "stdout.log", "ab") as out:
            self._process = subprocess.Popen(
                guarded(cmd) if self.owned else cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.state = BrokerState(
            self._process.pid, port, controller_port, pinned_kafka_version(), time.time()
        )
        (self.data_dir / STATE_FILE).write_text(json.dumps(asdict(self.state)))
        if wait:
            self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        from rdv.kafka.admin import cluster_ready

        assert self.state is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # Our own child is asked directly: until it execs java, /proc shows python.
            exited = self._process.poll() is not None if self._process else False
            if exited:
                self.stop()
                raise BrokerError(
                    f"the broker exited during start-up; see {self.log_file}:\n" + self._log_tail()
                )
            if cluster_ready(self.state.bootstrap, timeout=1.0, settings=self._own_client()):
                return
            time.sleep(0.1)
        self.stop()
        raise BrokerError(f"the broker was not ready within {timeout:.0f} s; see {self.log_file}")

    def _own_client(self) -> KafkaSettings | None:
        """Client settings as the broker's own user, when the listener wants SASL or TLS."""
        if self.tls:
            files = self.tls_files
            assert files is not None
            return KafkaSettings(security_protocol="SSL", ssl_ca_location=str(files.ca))
        if not self.sasl_users:
            return None
        return KafkaSettings(
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="PLAIN",
            sasl_username=BROKER_USER,
            sasl_password=SecretStr(self.sasl_users[BROKER_USER]),
        )

    def _log_tail(self, lines: int = 15) -> str:
        for path in (self.log_file, self.data_dir / "logs" / "stdout.log"):
            if path.exists() and path.stat().st_size:
                return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        return "(no log output)"

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the broker of this data dir. True if one was running."""
        state = self.state or running_state(self.data_dir)
        stopped = False
        if state and pid_is_broker(state.pid):
            stopped = True
            _signal(state.pid, signal.SIGTERM)
            if not self._wait_exit(state.pid, timeout):
                _signal(state.pid, signal.SIGKILL)
                self._wait_exit(state.pid, 10.0)
        self.state = None
        self._process = None
        # broker.json stays (its pid is dead now): the next start reuses the same ports, so
        # clients configured with this bootstrap keep working across restarts.
        if self.ephemeral:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return stopped

    def exited(self) -> bool:
        """True if the process this object started has ended (during start-up, say)."""
        return self._process is not None and self._process.poll() is not None

    def kill(self) -> None:
        """SIGKILL the broker: a crash, not a clean stop. Its data and ports stay for a start."""
        if self.state is not None:
            _signal(self.state.pid, signal.SIGKILL)
            self._wait_exit(self.state.pid, 10.0)
        self.state, self._process = None, None

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                return True
            if self._process is None and not pid_is_broker(pid):
                return True
            time.sleep(0.05)
        return False

    def __enter__(self) -> EmbeddedBroker:
        return self.start() if self.state is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
