"""What every service process shares: its instance name, its clock, how it stops and logs."""

from __future__ import annotations

import faulthandler
import gc
import logging
import os
import signal
import socket
import sys
import threading
import time


def default_instance() -> str:
    """host:pid, unique among the instances of one deployment."""
    return f"{socket.gethostname()}:{os.getpid()}"


def now_us() -> int:
    """Wall-clock microseconds, the unit of every timestamp in the messages."""
    return time.time_ns() // 1000


def _started_ms_now() -> float:
    """When this process started, in wall-clock ms, as the wall clock reads now: from /proc
    where there is one (so a message produced right after the process was launched, before
    Python even started, counts as after it), else now."""
    try:
        with open("/proc/self/stat") as f:
            # Field 22 is the start time in ticks since boot; the command name (field 2) may
            # hold spaces, so count from after its closing parenthesis.
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime_s = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return time.time_ns() / 1e6
    booted_ms = time.time_ns() / 1e6 - uptime_s * 1000
    return booted_ms + ticks * 1000 / os.sysconf("SC_CLK_TCK")


# Read once, as the process starts: the wall clock is stepped now and then (a VM's clock
# brought back in line), and a step after the start moved a later reading past requests
# produced right after the launch, which a new worker group then never scored (a canary
# skipped 203 of 300 in CI).
_STARTED_MS = _started_ms_now()


def process_started_ms(margin_ms: int = 1000) -> int:
    """When this process started, in wall-clock ms, less a margin for the clocks' grain and
    steps: a new consumer group starting here reads from a second before, which costs a few
    requests scored twice at most, where a start too late would skip some."""
    return int(_STARTED_MS) - margin_ms


def settle_heap() -> None:
    """Take what start-up built (modules, codecs, clients, models) out of the collector's
    reach: every full collection traversed it again while the service answered (~46,000
    objects in the rendezvous, ~6 ms of CPU a collection here, more under load). Called once,
    before a service takes over from its predecessor and starts its loop; what is frozen is
    still freed when nothing refers to it."""
    gc.collect()
    gc.freeze()


def yield_cpu(nice: int) -> None:
    """Lower this process's scheduling priority by `nice` (0 leaves it). On a machine short of
    CPU the kernel then runs the rendezvous first, which answers by fallback or default inside
    the SLA, before the models and the archive, whose lateness that answer covers."""
    if nice > 0:
        os.nice(nice)


def stop_on_signals(stopping: threading.Event) -> None:
    """SIGTERM and SIGINT set `stopping`: the service finishes what it holds, then exits."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())


def service_logging() -> None:
    """Services log their lifecycle (assignments, configs, files) at INFO; RDV_LOG_LEVEL
    changes it."""
    level = os.environ.get("RDV_LOG_LEVEL", "INFO").upper()
    logging.getLogger("rdv").setLevel(level)
    # A service's log is read after the fact, next to other services' logs: times line them up.
    stamped = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(stamped)
    logging.getLogger("rdv.kafka.librdkafka").setLevel(
        max(logging.WARNING, logging.getLevelName(level))
    )
    # `kill -USR1 <pid>` writes every thread's stack to the log: a stuck service explains itself.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    # A crash in native code (librdkafka, numpy) otherwise ends a service with no word in its
    # log: it now leaves every thread's Python stack there.
    faulthandler.enable(all_threads=True)


def exit_now(code: int = 0) -> None:
    """Exit at once, once a service has closed everything it holds: logs and output flushed,
    the interpreter's teardown skipped."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
