"""What the broker served per client request, counted by the broker itself: produce and
fetch requests, other requests, messages and bytes in and out.

CPU figures move with everything else on a shared machine; these are counts, so a change
that saves the broker work shows in them exactly (docs/performance.md). They are read over
JMX from the broker's JVM through the JDK's attach API (BrokerCounts.java beside the broker
code): the same user as the broker, no port opened. Where that cannot be done (a broker on
another machine, a JVM without the attach API), a run has no such figures, and says why."""

from __future__ import annotations

import select
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from rdv_tools.broker.class_archive import java_runtime

HELPER = Path(__file__).resolve().parent.parent / "broker" / "BrokerCounts.java"
# Compiling the helper in memory and attaching take ~0.6 s here; a cold JDK more.
START_TIMEOUT_S = 30.0
READ_TIMEOUT_S = 10.0

# Counter names as the helper prints them (BrokerCounts.java), and how they are shown.
PRODUCE = "request.Produce"
FETCH = "request.Fetch"
MESSAGES_IN = "topics.MessagesInPerSec"
BYTES_IN = "topics.BytesInPerSec"
BYTES_OUT = "topics.BytesOutPerSec"
# Kept apart from "Fetch", which counts every fetch, a consumer's or a follower's.
_SUBSETS = ("request.FetchConsumer", "request.FetchFollower")


class BrokerCountsError(Exception):
    """The broker's counters cannot be read (said once, and the run goes on without them)."""


def is_jvm(pid: int) -> bool:
    """`pid` runs a HotSpot JVM. Asked before attaching: the attach API signals the process
    (SIGQUIT), which ends one that is not a JVM, a local Redpanda or a docker-proxy, say."""
    try:
        with open(f"/proc/{pid}/maps") as maps:
            return any(line.rstrip().endswith("/libjvm.so") for line in maps)
    except OSError:
        return False


def parse_counts(line: str) -> dict[str, int]:
    """`name=count name=count ...` -> {name: count}."""
    counts = {}
    for pair in line.split():
        name, _, count = pair.partition("=")
        if not count.lstrip("-").isdigit():
            raise BrokerCountsError(f"the broker's counters came back unreadable: {pair!r}")
        counts[name] = int(count)
    return counts


@dataclass(frozen=True)
class ServedPerRequest:
    """What the broker served per client request over one run."""

    produce: float
    fetch: float
    other: float  # every other request: offsets, transactions, heartbeats, metadata
    messages_in: float
    bytes_in: float
    bytes_out: float
    by_request: dict[str, float] = field(default_factory=dict)

    @property
    def requests(self) -> float:
        return self.produce + self.fetch + self.other

    @classmethod
    def of(cls, before: dict[str, int], after: dict[str, int], answered: int) -> ServedPerRequest:
        per = max(1, answered)
        # Counts are subtracted and summed as integers, divided once: no float's last bit.
        delta = {name: after[name] - before.get(name, 0) for name in after}
        requests = {
            name.removeprefix("request."): n
            for name, n in delta.items()
            if name.startswith("request.") and name not in _SUBSETS and n
        }
        produce, fetch = delta.get(PRODUCE, 0), delta.get(FETCH, 0)
        return cls(
            produce=produce / per,
            fetch=fetch / per,
            other=(sum(requests.values()) - produce - fetch) / per,
            messages_in=delta.get(MESSAGES_IN, 0) / per,
            bytes_in=delta.get(BYTES_IN, 0) / per,
            bytes_out=delta.get(BYTES_OUT, 0) / per,
            by_request={name: n / per for name, n in sorted(requests.items())},
        )


class BrokerCounts:
    """A helper process attached to the broker's JVM; `read()` returns its counters now."""

    def __init__(self, pid: int) -> None:
        self._said = ""  # what the helper wrote to stderr, once it ended
        if not is_jvm(pid):
            raise BrokerCountsError(f"the process listening as the broker (pid {pid}) is not a JVM")
        try:
            self._process = subprocess.Popen(
                [java_runtime(), str(HELPER), str(pid)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        except Exception as exc:  # no JDK, say: the run goes on without counts
            raise BrokerCountsError(f"cannot start the broker's counter reader: {exc}") from exc
        if self._line(START_TIMEOUT_S) != "ready":
            self.close()
            said = (self._said or "no answer").splitlines()[-1:]
            raise BrokerCountsError(f"cannot attach to the broker's JVM (pid {pid}): {said[0]}")

    def _line(self, timeout: float) -> str | None:
        stdout = self._process.stdout
        assert stdout is not None
        deadline = time.monotonic() + timeout
        while self._process.poll() is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            readable, _, _ = select.select([stdout], [], [], left)
            if readable:
                return stdout.readline().strip()
        return None

    def read(self) -> dict[str, int]:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write("\n")
            stdin.flush()
        except OSError as exc:
            raise BrokerCountsError(f"the broker's counter reader ended: {exc}") from exc
        line = self._line(READ_TIMEOUT_S)
        if line is None:
            raise BrokerCountsError("the broker's counters did not come back (broker gone?)")
        return parse_counts(line)

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        if self._process.stderr is not None and not self._process.stderr.closed:
            self._said = self._process.stderr.read().strip()
        for stream in (self._process.stdin, self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> BrokerCounts:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
