"""`rdv bench chaos`: the whole stack under steady load while one fault (or several) strikes and
is repaired, measured as a user would check it: every request answered, exactly once, inside
the SLA outside the broker's downtime, and archived by the decoy."""

from __future__ import annotations

import logging
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rdv.client import RendezvousClient
from rdv.errors import ConfigError
from rdv.kafka import Consumer
from rdv.settings import make_codec
from rdv.topics import ANSWERS
from rdv_tools.bench.chaos_score import ChaosResult, score
from rdv_tools.bench.chaos_stack import ChaosStack
from rdv_tools.bench.served import warm_up
from rdv_tools.bench.settling import send, settle
from rdv_tools.demo.generator import login_requests

# A worker's micro-batch normally takes about 2 ms here (scoring plus Kafka hand-off); the
# "slow" fault adds 20 ms to each, ten times that.
SLOW_DELAY_MS = 20
# Longer than the consumers' session timeout: the group moves on without its members.
LONG_OUTAGE_S = 15.0


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Callable[[ChaosStack], None]
    repair: Callable[[ChaosStack], None] = lambda stack: None
    # Run the repair on the sending thread: a broker tied to this process must be started by
    # a thread that outlives it (the kernel's parent-death signal follows the thread).
    repair_on_sender: bool = False
    # Hold the fault at least this long, even past the last request sent.
    min_seconds: float = 0.0
    # The Kafka nodes it needs: 1 (a single broker), 3 (a cluster) or None (either).
    nodes: int | None = None
    # Workers per model.
    replicas: int = 1
    # Rendezvous instances, each a static member of the group under its own name.
    rendezvous: int = 1


def _kill(name: str) -> Fault:
    return Fault(
        f"SIGKILL {name}",
        lambda s: s.signal(name, signal.SIGKILL),
        lambda s: s.restart(name),
    )


FAULTS: dict[str, Fault] = {
    # No fault: what the stack gives on this machine at this rate, to read the others against.
    "baseline": Fault("none", lambda s: None),
    "worker": _kill("login-bot@3"),
    "champion": _kill("login-bot@2"),
    "decoy": _kill("decoy"),
    "rendezvous": _kill("rendezvous"),
    # The takeover: how long until a rendezvous restarted at once answers again.
    "rendezvous-restart": Fault(
        "SIGKILL rendezvous, restarted at once", lambda s: s.restart("rendezvous")
    ),
    "straggler": Fault(
        "SIGSTOP champion, then SIGCONT",
        lambda s: s.signal("login-bot@2", signal.SIGSTOP),
        lambda s: s.signal("login-bot@2", signal.SIGCONT),
    ),
    "slow": Fault(
        f"champion at +{SLOW_DELAY_MS} ms per batch (10x)",
        lambda s: s.restart("login-bot@2", "--delay-ms", str(SLOW_DELAY_MS)),
        lambda s: s.restart("login-bot@2"),
    ),
    "broker": Fault(
        "Kafka stopped, then restarted",
        ChaosStack.stop_broker,
        ChaosStack.start_broker,
        repair_on_sender=True,
        nodes=1,
    ),
    "broker-long": Fault(
        f"Kafka stopped for {LONG_OUTAGE_S:g} s (past the 10 s session timeout), then restarted",
        ChaosStack.stop_broker,
        ChaosStack.start_broker,
        repair_on_sender=True,
        min_seconds=LONG_OUTAGE_S,
        nodes=1,
    ),
    "broker-leader": Fault(
        "SIGKILL of the Kafka node leading most of requests and answers, restarted",
        ChaosStack.kill_leader,
        ChaosStack.restart_killed,
        repair_on_sender=True,
        nodes=3,
    ),
    "controller": Fault(
        "SIGKILL of the active KRaft controller, restarted",
        ChaosStack.kill_controller,
        ChaosStack.restart_killed,
        repair_on_sender=True,
        nodes=3,
    ),
    # Two workers of the champion share its partitions; one dies and stays dead, and the group
    # hands its partitions to the other once its session (10 s) times out.
    "replica": Fault(
        "SIGKILL of one of two champion replicas, not restarted",
        lambda s: s.signal("login-bot@2", signal.SIGKILL),
        replicas=2,
    ),
    # Two rendezvous instances split the partitions; one dies and stays dead, and its peer
    # takes its partitions (restoring their state) once the dead one's 10 s session times out.
    "rendezvous-peer": Fault(
        "SIGKILL of one of two rendezvous instances, not restarted",
        lambda s: s.signal("rendezvous", signal.SIGKILL),
        rendezvous=2,
    ),
    "upgrade": Fault(
        "every service replaced in turn (SIGTERM, start again)", ChaosStack.upgrade_all
    ),
    "rebalance": Fault(
        "a second rendezvous joins (1 -> 2 instances)",
        ChaosStack.add_rendezvous,
    ),
}


def combined(names: list[str]) -> Fault:
    faults = [FAULTS[n] for n in names]

    def inject(stack: ChaosStack) -> None:
        for fault in faults:
            fault.inject(stack)

    def repair(stack: ChaosStack) -> None:
        for fault in faults:
            fault.repair(stack)

    return Fault(
        " + ".join(f.name for f in faults),
        inject,
        repair,
        repair_on_sender=any(f.repair_on_sender for f in faults),
        min_seconds=max(f.min_seconds for f in faults),
        nodes=next((f.nodes for f in faults if f.nodes), None),
        replicas=max(f.replicas for f in faults),
        rendezvous=max(f.rendezvous for f in faults),
    )


def run_scenario(
    scenario: str,
    fault: Fault,
    rate: float,
    seconds: float,
    sla_ms: int,
    progress: Callable[[str], None] = lambda _: None,
    keep_logs: Path | None = None,
    nodes: int | None = None,
    settle_s: float = 0.0,
) -> ChaosResult:
    # Refused connections while a process or Kafka is down are the point here, not news.
    logging.getLogger("rdv.kafka.librdkafka").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="rdv-chaos-") as tmp:
        size = cluster_size(fault, nodes)
        stack = ChaosStack(Path(tmp), sla_ms, size)
        settled = 0.0
        try:
            stack.start_all(fault.replicas, fault.rendezvous)
            topics = stack.stack.topics
            with RendezvousClient(
                stack.bootstrap,
                topics["requests"],
                topics["answers"],
                codec=stack.stack.client_codec(),
            ) as client:
                progress(f"{scenario}: warming up")
                warm_up(client, on_time=10, timeout=120)
                if settle_s:
                    progress(f"{scenario}: settling (up to {settle_s:g} s)")
                    settled = settle(
                        client,
                        rate,
                        sla_ms,
                        settle_s,
                        compiled=stack.jit_seconds,
                        progress=progress,
                    )
                progress(f"{scenario}: {rate:g} requests/s for {seconds:g} s, fault at 1/3")
                sent, received = _drive(client, stack, fault, rate, seconds)
                # The last requests' answers, on time or not, before the client closes.
                until = time.monotonic() + 2 * sla_ms / 1000 + 1
                while len(received) < len(sent) and time.monotonic() < until:
                    time.sleep(0.05)
            progress(f"{scenario}: collecting answers")
            answers = _collect(stack.bootstrap, topics["answers"], set(sent), sla_ms)
            progress(f"{scenario}: waiting for the decoy's archive")
            _await_archive(Path(tmp) / "archive", set(sent))
        finally:
            if keep_logs is not None:
                for process in stack.stack.processes.values():
                    if process.poll() is None:
                        process.send_signal(signal.SIGUSR1)  # stacks into the logs
                time.sleep(1)
            stack.stop()
            if keep_logs is not None:
                shutil.copytree(Path(tmp) / "logs", keep_logs / scenario, dirs_exist_ok=True)
                for source in (Path(tmp) / "broker").glob("**/logs/server.log"):
                    node = source.parent.parent.name  # "broker", or "node-2" of a cluster
                    shutil.copy(source, keep_logs / scenario / f"kafka-{node}-server.log")
        archived = _archived(Path(tmp) / "archive", set(sent))
        result = score(
            scenario, fault.name, sent, answers, stack.broker_down, sla_ms, archived, received
        )
        return replace(result, nodes=size, settled_s=settled)


def cluster_size(fault: Fault, nodes: int | None) -> int:
    if fault.nodes and nodes and fault.nodes != nodes:
        raise ConfigError(f"{fault.name!r} needs {fault.nodes} Kafka node(s), not {nodes}")
    return fault.nodes or nodes or 1


def _drive(
    client: RendezvousClient, stack: ChaosStack, fault: Fault, rate: float, seconds: float
) -> tuple[dict[str, float], dict[str, float]]:
    """Send at `rate` for `seconds`; the fault strikes at 1/3 and is repaired at 2/3, or once
    it has held `min_seconds`, whichever is later. Returns request id -> wall-clock send
    time, and request id -> when the client received its first answer (filled in as answers
    come, until the client closes)."""
    sent: dict[str, float] = {}
    received: dict[str, float] = {}
    count = int(rate * seconds)
    inject_at, repair_at = count // 3, 2 * count // 3  # request indexes
    threads: list[threading.Thread] = []
    failures: list[BaseException] = []

    def act(action: Callable[[ChaosStack], None]) -> None:
        try:
            action(stack)
        except BaseException as exc:
            failures.append(exc)

    started = time.perf_counter()
    injected_at = float("inf")
    repair_due: float | None = None  # a repair held back by the fault's min_seconds

    def repair() -> None:
        # The fault must be in place before it is repaired. Only a repair that must run on
        # this thread waits for that here: a slow injection (a rolling upgrade takes ~15 s)
        # would otherwise stop the sending, and the requests due meanwhile would go out late
        # in one burst.
        injecting = list(threads)

        def after_injection() -> None:
            for thread in injecting:
                thread.join(120)
            act(fault.repair)

        if fault.repair_on_sender:
            after_injection()
        else:
            threads.append(threading.Thread(target=after_injection, daemon=True))
            threads[-1].start()

    for i, request in enumerate(login_requests(count, seed=3)):
        if i == inject_at:
            injected_at = time.perf_counter()
            threads.append(threading.Thread(target=act, args=(fault.inject,), daemon=True))
            threads[-1].start()
        elif i == repair_at:
            repair_due = injected_at + fault.min_seconds
        if repair_due is not None and time.perf_counter() >= repair_due:
            repair()
            repair_due = None
        pause = started + i / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        send(client, request, sent, received)
        if i % 20 == 0:
            client.poll()
    if repair_due is not None:
        time.sleep(max(0.0, repair_due - time.perf_counter()))
        repair()
    for thread in threads:
        thread.join(120)
    if failures:
        raise RuntimeError(f"the fault could not be injected or repaired: {failures[0]!r}")
    # Requests queued through a Kafka outage go out once it is back; a client producer has
    # been seen to need more than the default 30 s for that after a restart.
    client.flush(timeout=120)
    return sent, received


def _collect(
    bootstrap: str, topic: str, ids: set[str], sla_ms: int, timeout: float = 90
) -> list[dict[str, Any]]:
    """Every answer on the topic for these requests, duplicates included, as a read_committed
    consumer sees them; waits until each is answered or `timeout` passes."""
    codec = make_codec()
    consumer = Consumer(
        bootstrap, f"chaos-{time.time_ns()}", [topic], overrides={"enable.auto.commit": False}
    )
    answers: list[dict[str, Any]] = []
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    quiet_until = None
    try:
        while time.monotonic() < deadline:
            for message in consumer.poll_batch(1000, 0.5):
                answer = codec.decode(ANSWERS.schema, message.value)
                if answer["request_id"] in ids:
                    answer["partition"] = message.partition
                    answers.append(answer)
                    seen.add(answer["request_id"])
            if seen >= ids:
                # A little longer, so that duplicates written after the last first answer show.
                quiet_until = quiet_until or time.monotonic() + 3
                if time.monotonic() > quiet_until:
                    break
    finally:
        consumer.close()
    return answers


def _await_archive(archive: Path, ids: set[str], timeout: float = 60.0) -> None:
    """Give the decoy up to `timeout` to archive the last request before the stack stops: after
    an outage its client may wait out librdkafka's reconnect backoff (up to 10 s) and a rejoin,
    while the rendezvous, back sooner, has answered everything already."""
    deadline = time.monotonic() + timeout
    while _archived(archive, ids) < 1.0 and time.monotonic() < deadline:
        time.sleep(0.5)


def _archived(archive: Path, ids: set[str]) -> float:
    import pyarrow.parquet as pq

    found: set[str] = set()
    for path in archive.rglob("*.parquet"):
        found |= set(pq.read_table(path, columns=["request_id"]).column(0).to_pylist())
    return len(found & ids) / len(ids) if ids else 0.0
