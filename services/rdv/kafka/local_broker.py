"""Where a Kafka broker run on this machine (`rdv broker start`, `rdv up`) announces itself:
`<data-dir>/broker.json`, with its pid and ports. Clients read it to find Kafka when no
bootstrap is given; the embedded broker of the tooling writes it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rdv.paths import state_dir

STATE_FILE = "broker.json"
# A three-node cluster (`rdv broker start --nodes 3`) keeps one data dir per node, node-1 ...,
# under its own, and this file saying how many.
CLUSTER_FILE = "cluster.json"


@dataclass(frozen=True)
class BrokerState:
    pid: int
    port: int
    controller_port: int
    kafka_version: str
    started_at: float

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


def default_data_dir() -> Path:
    return state_dir() / "broker"


def pid_is_broker(pid: int) -> bool:
    """True if `pid` is alive and is a Kafka broker (pids are recycled; never kill a stranger)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    zombie = stat.rsplit(")", 1)[-1].split()[0] == "Z"
    return b"kafka.Kafka" in cmdline and not zombie


def read_state(data_dir: Path) -> BrokerState | None:
    try:
        return BrokerState(**json.loads((data_dir / STATE_FILE).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def running_state(data_dir: Path) -> BrokerState | None:
    """The state of the broker running from `data_dir`, or None if none runs."""
    state = read_state(data_dir)
    return state if state and pid_is_broker(state.pid) else None


def node_dirs(data_dir: Path) -> list[Path]:
    """The data dirs of a cluster's nodes, or [] if `data_dir` holds a single broker."""
    try:
        nodes = int(json.loads((data_dir / CLUSTER_FILE).read_text())["nodes"])
    except (OSError, ValueError, TypeError, KeyError):
        return []
    return [data_dir / f"node-{i}" for i in range(1, nodes + 1)]


def running_bootstrap(data_dir: Path) -> str | None:
    """host:port of every running node under `data_dir` (one broker or a cluster), else None."""
    nodes = node_dirs(data_dir) or [data_dir]
    states = [s for s in map(running_state, nodes) if s is not None]
    return ",".join(s.bootstrap for s in states) or None
