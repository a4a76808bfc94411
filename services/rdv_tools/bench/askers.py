"""Who asks the broker: the Kafka requests each local process sent it, told by TCP.

The broker's own counters (`rdv_tools.bench.broker_counts`) say how many requests it served,
not from whom. A Kafka client writes each request whole and waits for nothing before sending
it, so on loopback (MSS ~64 KiB, far above these requests) one request is one TCP data
segment: the data segments each process sent on its connections to the broker's port,
as `ss -tinp` reports them (`data_segs_out`), count its requests. Measured here against the
broker's counters: 10.2 segments per client request for every process together, 10.1 Kafka
requests by the broker's count (docs/performance.md, "What the broker serves per request")."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Collection, Mapping

_PID = re.compile(r"pid=(\d+)")
_SEGMENTS = re.compile(r"\bdata_segs_out:(\d+)")
_TIMEOUT_S = 5.0


def segments_by_pid(ss_output: str, broker_ports: Collection[int]) -> dict[int, int]:
    """Data segments sent to the broker's port (or any of a local cluster's), by the sending
    process, from `ss -tinpH state established` (each connection a line, then its indented TCP
    details). A connection whose peer is not a broker (the broker's own side among them) is
    not counted."""
    ports = {str(p) for p in broker_ports}
    sent: dict[int, int] = {}
    pid: int | None = None
    for line in ss_output.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            pid = _to_broker(line, ports)
            continue
        match = _SEGMENTS.search(line)
        if pid is not None and match:
            sent[pid] = sent.get(pid, 0) + int(match.group(1))
        pid = None
    return sent


def _to_broker(line: str, ports: set[str]) -> int | None:
    """The sending process of a connection line whose peer is one of the brokers' ports."""
    columns = line.split()
    # Recv-Q, Send-Q, local address, peer address, then the users:((...)) of -p.
    if len(columns) < 5 or columns[3].rsplit(":", 1)[-1] not in ports:
        return None
    match = _PID.search(line)
    return int(match.group(1)) if match else None


class BrokerAskers:
    """Reads, each time asked, the data segments every local process has sent the broker so
    far. `available` is False where `ss` (iproute2) is not installed."""

    def __init__(self, broker_ports: Collection[int]) -> None:
        self.ports = broker_ports
        self._ss = shutil.which("ss")

    @property
    def available(self) -> bool:
        return self._ss is not None

    def read(self) -> dict[int, int]:
        """Segments sent to the broker so far, by pid; empty where they cannot be read."""
        if not self._ss:
            return {}
        try:
            done = subprocess.run(
                [self._ss, "-tinpH", "state", "established"],
                capture_output=True,
                text=True,
                timeout=_TIMEOUT_S,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return {}
        return segments_by_pid(done.stdout, self.ports)


def asked_per_request(
    before: Mapping[int, int],
    after: Mapping[int, int],
    names: Mapping[str, int],
    requests: int,
) -> dict[str, float]:
    """Kafka requests each named process sent per client request between two readings, and
    `total` for them all. A connection opened in between counts from zero, one closed in
    between is lost with its count (never negative)."""
    if requests <= 0:
        return {}
    figures = {}
    for name, pid in names.items():
        sent = after.get(pid, 0) - before.get(pid, 0)
        if pid in after:
            figures[name] = max(0, sent) / requests
    figures["total"] = sum(figures.values())
    return figures


def local_askers(broker_ports: Collection[int]) -> BrokerAskers | None:
    """Askers of the brokers listening on this machine on `broker_ports` (every node of a
    local cluster), where `ss` is there; None where no broker runs here."""
    if not broker_ports:
        return None
    askers = BrokerAskers(broker_ports)
    return askers if askers.available else None
