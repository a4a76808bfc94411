"""A Kafka cluster of several KRaft nodes on loopback, each both broker and controller.

`BrokerCluster` runs `nodes` `EmbeddedBroker` processes formatted with one cluster id, each
with its own data dir (`<data-dir>/node-<i>`) and port pair, the controllers forming one
quorum. Topics get min(3, nodes) replicas and need two in sync (`replication_settings`).
`<data-dir>/cluster.json` records the cluster, so `rdv broker stop` and `status` in another
process find every node, and clients find all their ports (`running_bootstrap`).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from rdv.errors import BrokerError
from rdv.kafka.local_broker import (
    CLUSTER_FILE,
    default_data_dir,
    node_dirs,
    pid_is_broker,
    read_state,
    running_bootstrap,
    running_state,
)
from rdv_tools.broker.embedded import EmbeddedBroker, listening_port
from rdv_tools.broker.properties import Node, new_cluster_id

# Three JVMs share the machine with the services: a smaller heap each than a lone broker's.
NODE_HEAP = "512m"


class BrokerCluster:
    """`nodes` brokers on loopback as one cluster. `owned=True` ties their lives to this process."""

    def __init__(
        self, data_dir: Path, nodes: int = 3, owned: bool = False, ephemeral: bool = False
    ) -> None:
        if nodes < 2:
            raise BrokerError("a cluster needs at least two nodes; one is `rdv broker start`")
        self.data_dir = Path(data_dir)
        self.size = nodes
        self.owned = owned
        self.ephemeral = ephemeral
        self.nodes: dict[int, EmbeddedBroker] = {}

    @classmethod
    def throwaway(cls, nodes: int = 3) -> BrokerCluster:
        """A cluster on a fresh temporary dir and free ports, deleted when stopped (tests)."""
        return cls(Path(tempfile.mkdtemp(prefix="rdv-kafka-")), nodes, owned=True, ephemeral=True)

    @property
    def bootstrap(self) -> str:
        return ",".join(b.bootstrap for b in self.nodes.values() if b.state is not None)

    def start(self, timeout: float = 120.0) -> BrokerCluster:
        """Start every node; return once all of them are brokers of the cluster."""
        running = running_bootstrap(self.data_dir)
        if running:
            raise BrokerError(
                f"Kafka already runs from {self.data_dir} on {running}: "
                "stop it first with `rdv broker stop`"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cluster_id = self._cluster_id()
        ports = self._ports()
        controllers = tuple(controller for _, controller in ports)
        for node_id, (port, controller) in enumerate(ports, 1):
            self.nodes[node_id] = EmbeddedBroker(
                self.data_dir / f"node-{node_id}",
                port=port,
                controller_port=controller,
                owned=self.owned,
                heap=NODE_HEAP,
                node=Node(node_id, controllers),
                cluster_id=cluster_id,
            )
        try:
            # All at once: a controller quorum elects a leader only once a majority is up.
            for broker in self.nodes.values():
                broker.start(wait=False)
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _cluster_id(self) -> str:
        """The id the nodes were formatted with, kept so that a restart finds its data."""
        state_file = self.data_dir / CLUSTER_FILE
        try:
            saved = json.loads(state_file.read_text())
            if int(saved["nodes"]) == self.size:
                return str(saved["cluster_id"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        if any(d.exists() for d in node_dirs(self.data_dir)):
            raise BrokerError(
                f"{self.data_dir} holds a cluster of another size: "
                "start it with its own --nodes, or use another --data-dir"
            )
        cluster_id = new_cluster_id()
        state_file.write_text(json.dumps({"nodes": self.size, "cluster_id": cluster_id}))
        return cluster_id

    def _ports(self) -> list[tuple[int, int]]:
        """Each node's (client, controller) ports: the last ones where it ran before."""
        chosen: list[int] = []

        def pick(previous: int | None) -> int:
            port = listening_port(previous)
            while port in chosen:
                port = listening_port()
            chosen.append(port)
            return port

        ports = []
        for node_id in range(1, self.size + 1):
            previous = read_state(self.data_dir / f"node-{node_id}")
            # Kafka's customary port for the first node of the long-lived cluster.
            customary = 9092 if node_id == 1 and self.data_dir == default_data_dir() else None
            ports.append(
                (
                    pick(previous.port if previous else customary),
                    pick(previous.controller_port if previous else None),
                )
            )
        return ports

    def wait_ready(self, timeout: float) -> None:
        """Until every node is a live broker the cluster's metadata lists."""
        from rdv.kafka.admin import broker_ids

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for node_id, broker in self.nodes.items():
                if broker.exited():
                    raise BrokerError(
                        f"node {node_id} exited during start-up; see {broker.log_file}"
                    )
            if broker_ids(self.bootstrap, timeout=1.0) >= set(self.nodes):
                return
            time.sleep(0.2)
        raise BrokerError(
            f"the cluster was not ready within {timeout:.0f} s; see {self.data_dir}/node-*/logs"
        )

    def kill(self, node_id: int) -> None:
        """SIGKILL one node: a crash, not a clean stop."""
        self.nodes[node_id].kill()

    def restart(self, node_id: int) -> None:
        """Start a stopped node again, on its ports and data; not waiting for it."""
        self.nodes[node_id].start(wait=False)

    def leaders(self, topics: list[str]) -> Counter[int]:
        """How many partitions of `topics` each node leads."""
        from rdv.kafka.admin import partition_leaders

        return Counter(partition_leaders(self.bootstrap, topics).values())

    def active_controller(self) -> int | None:
        """The node the controller quorum follows, as the live nodes' quorum-state files say
        (the highest epoch wins): clients' metadata names a random broker in KRaft."""
        best: tuple[int, int] | None = None
        for broker in self.nodes.values():
            if broker.state is None or not pid_is_broker(broker.state.pid):
                continue
            state_file = broker.data_dir / "kafka-logs" / "__cluster_metadata-0" / "quorum-state"
            try:
                quorum = json.loads(state_file.read_text())
            except (OSError, ValueError):
                continue
            leader, epoch = int(quorum.get("leaderId", -1)), int(quorum.get("leaderEpoch", -1))
            if leader > 0 and (best is None or epoch > best[1]):
                best = (leader, epoch)
        return best[0] if best else None

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop every node of this data dir. True if any was running."""
        brokers = self.nodes or {
            i: EmbeddedBroker(d) for i, d in enumerate(node_dirs(self.data_dir), 1)
        }
        stopped = False
        for broker in brokers.values():
            # The ephemeral dir goes as a whole, after every node has stopped.
            broker.ephemeral = False
            stopped = broker.stop(timeout) or stopped
        if self.ephemeral:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return stopped


def running_nodes(data_dir: Path) -> list[tuple[int, str, int]]:
    """(node id, bootstrap, pid) of each running node of the cluster in `data_dir`."""
    found = []
    for node_id, directory in enumerate(node_dirs(data_dir), 1):
        state = running_state(directory)
        if state is not None:
            found.append((node_id, state.bootstrap, state.pid))
    return found


def stop_local(data_dir: Path) -> bool:
    """Stop what runs from `data_dir`, a cluster or a single broker. True if anything ran."""
    if node_dirs(data_dir):
        return BrokerCluster(data_dir, len(node_dirs(data_dir))).stop()
    return EmbeddedBroker(data_dir).stop()
