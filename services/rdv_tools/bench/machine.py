"""How busy the machine's cores were during a run, and how often all of them were busy at once.

On a shared 2-core machine the late answers of a busy run come in the moments when every core
is taken: a burst in one process (the broker's collector, the client's own work) then leaves
none for the rest, and the workers, which yield the CPU (nice 10), score a few hundred
milliseconds late while the rendezvous answers by default. A run's mean CPU hides those
moments; the share of short windows in which every core was busy shows them (measured:
docs/performance.md, "Late answers where the cores are all busy").

Read from /proc/stat, the whole machine's counters, so it counts what the benchmark does not
own as well: that is the point, since a core taken by anything is a core the stack lacks."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from pathlib import Path

# 100 ms holds ten of the kernel's 10 ms ticks per core: fine enough for the 0.1-0.3 s
# bursts seen here, coarse enough that one tick more or less does not decide a window.
WINDOW_S = 0.1
# A core at least this busy over a window counts as taken.
TAKEN = 0.9

CoreTicks = tuple[int, int]  # (busy ticks, all ticks) of one core since boot


def read_cores(stat: str) -> list[CoreTicks]:
    """Busy and total ticks of each core from /proc/stat's `cpuN` lines. Idle and iowait
    are not busy; user, nice, system, irq, softirq and steal are (steal: the core was not
    ours to use). Guest time is already inside user."""
    cores = []
    for line in stat.splitlines():
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu":
            continue
        ticks = [int(f) for f in fields[:8]]
        idle = ticks[3] + ticks[4]
        cores.append((sum(ticks) - idle, sum(ticks)))
    return cores


def _busy_shares(before: list[CoreTicks], after: list[CoreTicks]) -> list[float] | None:
    """Each core's busy share between two readings; None where a window has no ticks (a
    reading taken twice within one tick) or the core count changed (a core went offline)."""
    if len(before) != len(after):
        return None
    shares = []
    for (busy0, total0), (busy1, total1) in zip(before, after, strict=True):
        if total1 <= total0:
            return None
        shares.append((busy1 - busy0) / (total1 - total0))
    return shares


@dataclass(frozen=True)
class MachineLoad:
    """`busy`: the mean share of the machine's cores in use (1.0: every core, all the time).
    `all_taken`: the share of `WINDOW_S` windows in which every core was at least `TAKEN` busy."""

    cores: int
    windows: int
    busy: float
    all_taken: float

    @classmethod
    def of(cls, readings: list[list[CoreTicks]]) -> MachineLoad | None:
        """From successive readings of /proc/stat; None with fewer than two usable ones."""
        windows = [
            shares
            for before, after in itertools.pairwise(readings)
            if (shares := _busy_shares(before, after)) is not None
        ]
        if not windows:
            return None
        first, last = readings[0], readings[-1]
        whole = _busy_shares(first, last)
        busy = sum(whole) / len(whole) if whole else sum(map(sum, windows)) / sum(map(len, windows))
        taken = sum(1 for shares in windows if min(shares) >= TAKEN)
        return cls(len(windows[0]), len(windows), busy, taken / len(windows))


class MachineSampler:
    """Reads /proc/stat every `WINDOW_S` on a thread of its own between `start()` and
    `stop()`. One small file read per window: it adds nothing a run could see."""

    def __init__(self, stat: Path = Path("/proc/stat"), window_s: float = WINDOW_S) -> None:
        self._stat = stat
        self._window_s = window_s
        self._readings: list[list[CoreTicks]] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def _read(self) -> list[CoreTicks] | None:
        try:
            return read_cores(self._stat.read_text())
        except (OSError, ValueError, IndexError):
            return None

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stopping.is_set():
            reading = self._read()
            if reading:
                self._readings.append(reading)
            next_at += self._window_s
            self._stopping.wait(max(0.0, next_at - time.monotonic()))

    def start(self) -> None:
        self._readings = []
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="rdv-machine-load", daemon=True)
        self._thread.start()

    def stop(self) -> MachineLoad | None:
        """The load since `start()`; None where /proc/stat cannot be read (not Linux)."""
        if self._thread is None:
            return None
        self._stopping.set()
        self._thread.join()
        self._thread = None
        last = self._read()
        if last:
            self._readings.append(last)
        return MachineLoad.of(self._readings)
