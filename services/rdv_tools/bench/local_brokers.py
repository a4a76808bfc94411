"""The brokers of a bootstrap that run on this machine: a benchmark is charged the CPU of
every node of a local cluster (`rdv broker start --nodes 3`), reads every node's counters and
counts who asks any of them, not the first node alone."""

from __future__ import annotations

from dataclasses import dataclass

from rdv_tools.bench.askers import BrokerAskers, local_askers
from rdv_tools.bench.broker_counts import BrokerCounts, BrokerCountsError
from rdv_tools.bench.cpu import JIT_THREADS, local_listeners


def node_name(index: int) -> str:
    """ "broker" for the first node (the only one, most often), "broker 2" and on after it."""
    return "broker" if index == 0 else f"broker {index + 1}"


@dataclass(frozen=True)
class LocalBrokers:
    pids: dict[str, int]  # node name -> pid
    ports: list[int]

    @classmethod
    def of(cls, bootstrap: str) -> LocalBrokers:
        listeners = local_listeners(bootstrap)
        names = {node_name(i): pid for i, pid in enumerate(listeners.values())}
        return cls(names, list(listeners))

    def parts(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """Each node's JIT compiler threads, beside its whole: a fresh broker compiles for a
        minute or two under its first load."""
        return {f"{name} JIT": (name, JIT_THREADS) for name in self.pids}

    def counts(self) -> tuple[ClusterCounts | None, str]:
        """A reader of every node's own counters, or None and why not."""
        if not self.pids:
            return None, "the broker does not run on this machine"
        readers: list[BrokerCounts] = []
        try:
            for pid in self.pids.values():
                readers.append(BrokerCounts(pid))
        except BrokerCountsError as exc:
            for reader in readers:
                reader.close()
            return None, str(exc)
        return ClusterCounts(readers), ""

    def askers(self) -> BrokerAskers | None:
        return local_askers(self.ports)


class ClusterCounts:
    """The counters of several nodes, added up: what the cluster served."""

    def __init__(self, readers: list[BrokerCounts]) -> None:
        self._readers = readers

    def read(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for reader in self._readers:
            for name, count in reader.read().items():
                total[name] = total.get(name, 0) + count
        return total

    def close(self) -> None:
        for reader in self._readers:
            reader.close()
