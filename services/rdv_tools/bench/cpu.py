"""CPU time per process from /proc: what each service and the broker spend per request.

Wall-clock figures on a shared 2-core machine move with every other process; CPU seconds a
process was charged move far less, so they are the figure to compare runs by."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# The names of a HotSpot JVM's JIT compiler threads ("C2 CompilerThre", as the kernel cuts it).
JIT_THREADS = ("C1 Compiler", "C2 Compiler")


def _charged_seconds(stat: str) -> float:
    """User plus system CPU seconds from a /proc stat line (a process's or a thread's)."""
    # The command name may hold spaces and parentheses: fields count from the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds of `pid` (all its threads), or None once it is gone."""
    try:
        return _charged_seconds(Path(f"/proc/{pid}/stat").read_text())
    except OSError:
        return None


def thread_cpu_seconds(pid: int, prefixes: tuple[str, ...]) -> float | None:
    """CPU seconds of the threads of `pid` whose names start with one of `prefixes` (the
    JVM's compiler threads, say), or None once the process is gone."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    total = 0.0
    for task in tasks:
        try:
            stat = Path(f"/proc/{pid}/task/{task}/stat").read_text()
        except OSError:
            continue  # the thread ended between listing and reading
        if stat.split("(", 1)[1].rsplit(")", 1)[0].startswith(prefixes):
            total += _charged_seconds(stat)
    return total


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def _pids() -> Iterator[int]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            yield int(entry.name)


def first_server(bootstrap: str) -> tuple[str, str]:
    """Host and port of the first bootstrap server, as written (the port may not be a number)."""
    return _host_port(bootstrap.split(",", maxsplit=1)[0])


def _host_port(server: str) -> tuple[str, str]:
    host, _, port = server.rpartition(":")
    return host, port


def listener_pid(bootstrap: str) -> int | None:
    """The local process listening on the first bootstrap server's port (the broker, when it
    runs on this machine and we may read its file descriptors); None otherwise."""
    host, port = first_server(bootstrap)
    return _listener(host, port)


def local_listeners(bootstrap: str) -> dict[int, int]:
    """Port -> the local process listening on it, for every bootstrap server that runs on this
    machine (each node of a local cluster), in the order given, each process once."""
    found: dict[int, int] = {}
    for server in bootstrap.split(","):
        host, port = _host_port(server.strip())
        pid = _listener(host, port)
        if pid is not None and pid not in found.values():
            found[int(port)] = pid
    return found


def _listener(host: str, port: str) -> int | None:
    if host not in ("127.0.0.1", "localhost", "::1", "[::1]", "0.0.0.0", "") or not port.isdigit():
        return None
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(int(port))}
    if not wanted:
        return None
    for pid in _pids():
        try:
            fds = os.scandir(f"/proc/{pid}/fd")
            if any(os.readlink(fd.path) in wanted for fd in fds):
                return pid
        except OSError:
            continue
    return None


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds each process was charged over `seconds` of wall-clock time."""

    seconds: float
    charged: dict[str, float]
    # Parts of a process (named threads), shown beside it and not added to the total again.
    parts: dict[str, float] = field(default_factory=dict)

    def per_request_us(self, requests: int) -> dict[str, float]:
        """µs of CPU per request, per process and in total."""
        if requests <= 0:
            return {}
        figures = {name: s * 1e6 / requests for name, s in self.charged.items()}
        figures.update({name: s * 1e6 / requests for name, s in self.parts.items()})
        figures["total"] = sum(self.charged.values()) * 1e6 / requests
        return figures

    def share_of_core(self) -> dict[str, float]:
        """Per process and in total, the share of one core used (0.10 is 10%)."""
        if self.seconds <= 0:
            return {}
        shares = {name: s / self.seconds for name, s in self.charged.items()}
        shares.update({name: s / self.seconds for name, s in self.parts.items()})
        shares["total"] = sum(self.charged.values()) / self.seconds
        return shares


class CpuMeter:
    """Charged CPU of named processes between `start()` and `stop()`, and of named parts of
    them: part name -> (process name, thread name prefixes)."""

    def __init__(
        self, pids: dict[str, int], parts: dict[str, tuple[str, tuple[str, ...]]] | None = None
    ) -> None:
        self.pids = dict(pids)
        self._readers: dict[str, Callable[[], float | None]] = {
            name: partial(cpu_seconds, pid) for name, pid in pids.items()
        }
        # part name -> the process it is part of
        self._parts = {
            name: process for name, (process, _) in (parts or {}).items() if process in pids
        }
        for name, process in self._parts.items():
            prefixes = (parts or {})[name][1]
            self._readers[name] = partial(thread_cpu_seconds, pids[process], prefixes)
        self._start: dict[str, float] = {}
        self._wall = 0.0

    def _read(self) -> dict[str, float]:
        """Seconds so far of every process and part still there."""
        return {name: v for name, read in self._readers.items() if (v := read()) is not None}

    def start(self) -> None:
        self._wall = time.monotonic()
        self._start = self._read()

    def stop(self) -> CpuUse:
        wall = time.monotonic() - self._wall
        now = self._read()
        # /proc counts whole clock ticks: rounded back to ticks, equal counts give equal
        # seconds (a part is never "more" than its process by a float's last bit).
        spent = {
            name: round((now[name] - before) * _TICK) / _TICK
            for name, before in self._start.items()
            if name in now
        }
        charged = {name: s for name, s in spent.items() if name not in self._parts}
        # A thread that ended takes its CPU along: a part never goes below nothing. Nor above
        # its process: the kernel splits a thread's and a process's runtime into user and
        # system ticks each on its own (cputime_adjust), so under load a busy thread read one
        # tick more than its whole process (0.30 s against 0.29 s).
        parts = {
            name: min(max(0.0, s), charged.get(self._parts[name], s))
            for name, s in spent.items()
            if name in self._parts
        }
        return CpuUse(wall, charged, parts)
