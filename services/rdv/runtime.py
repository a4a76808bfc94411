"""What every service process shares: its instance name, its clock, how it stops and logs."""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import socket
import threading
import time


def default_instance() -> str:
    """host:pid, unique among the instances of one deployment."""
    return f"{socket.gethostname()}:{os.getpid()}"


def now_us() -> int:
    """Wall-clock microseconds, the unit of every timestamp in the messages."""
    return time.time_ns() // 1000


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
