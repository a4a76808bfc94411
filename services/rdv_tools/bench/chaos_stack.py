"""The stack a chaos scenario strikes: a LocalStack on its own broker (one node, or a cluster
of three), with the moves the faults need."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from pathlib import Path

from rdv.kafka.admin import cluster_ready
from rdv.rollout.store import publish
from rdv.settings import make_codec
from rdv_tools.bench.cpu import JIT_THREADS, listener_pid, thread_cpu_seconds
from rdv_tools.broker import EmbeddedBroker
from rdv_tools.broker.cluster import BrokerCluster
from rdv_tools.demo.stack import LocalStack, example_config, example_models

# Between two services of a rolling upgrade.
UPGRADE_PAUSE_S = 1.0


def upgrade_order(names: list[str]) -> list[str]:
    """The rendezvous first, then the rest as started. Last, on a slow machine, it was
    replaced after the scenario's traffic had ended (a whole upgrade took ~23 s in CI), and
    nothing showed the new one answering."""
    return sorted(names, key=lambda name: not name.startswith("rendezvous"))


class ChaosStack:
    """A LocalStack on its own broker (`nodes` > 1: a cluster), with the moves the faults need."""

    def __init__(self, workdir: Path, sla_ms: int, nodes: int = 1) -> None:
        self.workdir = workdir
        self.broker: EmbeddedBroker | BrokerCluster
        if nodes > 1:
            self.broker = BrokerCluster(workdir / "broker", nodes, owned=True).start()
        else:
            self.broker = EmbeddedBroker(workdir / "broker", owned=True).start()
        self.stack = LocalStack(
            self.broker.bootstrap,
            workdir,
            extra_env={"RDV_DECOY_ROLL_SECONDS": "1"},
        )
        self.stack.create_topics()
        publish(
            self.broker.bootstrap,
            make_codec(),
            example_config(sla_ms),
            None,
            "bench chaos",
            self.stack.topics["rendezvous.config"],
        )
        # Wall-clock windows (seconds) while Kafka was down, or electing new leaders.
        self.broker_down: list[tuple[float, float]] = []
        self._broker_pids: dict[str, int] = {}  # bootstrap server -> its broker's pid

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    def jit_seconds(self) -> float:
        """CPU seconds the JIT compilers of every running broker node have spent so far."""
        total = 0.0
        for server in self.bootstrap.split(","):
            # Found once per node: listener_pid reads every process's file descriptors, and
            # this is asked twice a window while the latency is measured.
            pid = self._broker_pids.get(server) or listener_pid(server)
            spent = thread_cpu_seconds(pid, JIT_THREADS) if pid else None
            if pid is None or spent is None:  # not found, or gone (a restarted node is found again)
                self._broker_pids.pop(server, None)
                continue
            self._broker_pids[server] = pid
            total += spent
        return total

    def start_all(self, replicas: int = 1, rendezvous: int = 1) -> None:
        self.stack.start_workers(example_models(self.workdir / "models"), replicas)
        self.stack.start("decoy", "decoy", "--archive", str(self.workdir / "archive"))
        self.stack.start("rendezvous", "rendezvous")
        for n in range(2, rendezvous + 1):
            self.stack.start(f"rendezvous-{n}", "rendezvous")

    def signal(self, name: str, sig: signal.Signals) -> None:
        process = self.stack.processes[name]
        if process.poll() is None:
            process.send_signal(sig)
            if sig == signal.SIGKILL:
                process.wait(10)

    def restart(self, name: str, *extra: str) -> None:
        self.stack.restart(name, *extra)

    def upgrade_all(self) -> None:
        """A rolling upgrade: each service in turn SIGTERMed, then started again a moment later
        (in `upgrade_order`)."""
        for name in upgrade_order(list(self.stack.processes)):
            self.stack.replace(name)
            time.sleep(UPGRADE_PAUSE_S)

    def add_rendezvous(self) -> None:
        self.stack.start("rendezvous-2", "rendezvous")

    def stop_broker(self) -> None:
        self.broker_down.append((time.time(), float("inf")))
        self.broker.stop()

    def start_broker(self) -> None:
        # Same data dir, so the same ports and topics. Not waiting: clients reconnect by
        # themselves, and this runs on the sending thread (see Fault.on_sender).
        if not isinstance(self.broker, EmbeddedBroker):
            raise RuntimeError("the broker faults need a single node; a cluster has node faults")
        self.broker.start(wait=False)

        def until_ready() -> None:
            while not cluster_ready(self.bootstrap, timeout=1.0):
                time.sleep(0.2)
            began, _ = self.broker_down[-1]
            self.broker_down[-1] = (began, time.time())  # down until it answers again

        threading.Thread(target=until_ready, daemon=True).start()

    def _cluster(self) -> BrokerCluster:
        if not isinstance(self.broker, BrokerCluster):
            raise RuntimeError("this fault needs a cluster: run it with --nodes 3")
        return self.broker

    def kill_leader(self) -> None:
        """SIGKILL the node leading most partitions of `requests` and `answers`."""
        cluster = self._cluster()
        topics = [self.stack.topics["requests"], self.stack.topics["answers"]]
        victim = cluster.leaders(topics).most_common(1)[0][0]
        self._kill_node(victim)

    def kill_controller(self) -> None:
        """SIGKILL the active KRaft controller (a broker too, leading its share of partitions)."""
        victim = self._cluster().active_controller()
        if victim is None:
            raise RuntimeError("no active controller found in the nodes' quorum state")
        self._kill_node(victim)

    def restart_killed(self) -> None:
        cluster = self._cluster()
        for node_id, broker in cluster.nodes.items():
            if broker.state is None:
                cluster.restart(node_id)

    def _kill_node(self, victim: int) -> None:
        cluster = self._cluster()
        began = time.time()
        self.broker_down.append((began, float("inf")))
        cluster.kill(victim)
        topics = list(self.stack.topics.values())

        def until_elected() -> None:
            # The window closes once every partition of the stack is led by a live node and
            # the controller quorum has a live leader.
            while True:
                try:
                    leaders = cluster.leaders(topics)
                except Exception:  # metadata unreachable mid-election: ask again
                    leaders = Counter({victim: 1})
                controller = cluster.active_controller()
                if victim not in leaders and -1 not in leaders and controller not in (None, victim):
                    break
                time.sleep(0.1)
            self.broker_down[-1] = (began, time.time())

        threading.Thread(target=until_elected, daemon=True).start()

    def stop(self) -> None:
        self.stack.stop()
        self.broker.stop()
