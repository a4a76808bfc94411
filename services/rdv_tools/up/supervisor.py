"""Supervised service processes for `rdv up`: one log file each, a crashed one restarted with
backoff, all stopped together. The state file lets `rdv status` and `rdv down` find them."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdv_tools.processes import guarded

log = logging.getLogger(__name__)

# A service that stays up this long has recovered: its next crash starts the backoff anew.
HEALTHY_AFTER_S = 30.0
MAX_BACKOFF_S = 30.0


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, so the service hands over cleanly; SIGKILL if it has not exited in `timeout`."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def await_handover(
    old: subprocess.Popen[bytes], new: subprocess.Popen[bytes], timeout: float
) -> bool:
    """Wait for `new`, started with `--take-over OLD_PID`, to stop `old` when it is ready to
    take over; reap `old`. False if `new` exited first (`old` still runs); `old` is killed if
    it outlives `timeout`."""
    deadline = time.monotonic() + timeout
    while old.poll() is None:
        if new.poll() is not None:
            return False
        if time.monotonic() > deadline:
            stop_process(old, 5)
            break
        time.sleep(0.01)
    return True


def restart_requests(workdir: Path) -> Path:
    return workdir / "restart"


def request_restart(workdir: Path, name: str) -> None:
    """Ask the supervisor running from `workdir` (in another process) to restart `name`."""
    restart_requests(workdir).mkdir(parents=True, exist_ok=True)
    (restart_requests(workdir) / name).touch()


# The services whose successor starts first and stops them once ready (`--take-over PID`, see
# rdv/handover.py); the others are stopped first.
TAKE_OVER_COMMANDS = frozenset({"rendezvous", "worker"})


def takes_over(subcommand: str) -> bool:
    """Whether a service started by this `rdv` subcommand is replaced make-before-break."""
    return subcommand in TAKE_OVER_COMMANDS


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    command: Sequence[str]
    role: str = ""
    metrics_port: int | None = None
    # A new process can replace a running one (`--take-over PID`): the old one answers until
    # the new one is ready (see `takes_over`).
    takes_over: bool = False


@dataclass
class Supervised:
    spec: ServiceSpec
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff_s: float = 1.0
    restart_at: float | None = None
    held: bool = False  # stopped on purpose (the demo's "champion killed"): not restarted
    last_exit: int | None = None


@dataclass
class Supervisor:
    """Runs `specs` as child processes with `env`; logs in `workdir/logs/<name>.log`."""

    workdir: Path
    env: dict[str, str]
    specs: Sequence[ServiceSpec]
    state_file: Path | None = None
    extra_state: dict[str, Any] = field(default_factory=dict)
    services: dict[str, Supervised] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # The watcher thread and the caller's both write the state file; each write stages the
    # same file, so two at once had one replace the other's staging away (seen in CI).
    _state_lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _watcher: threading.Thread | None = None

    def log_path(self, name: str) -> Path:
        return self.workdir / "logs" / f"{name}.log"

    def start(self) -> Supervisor:
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        for spec in self.specs:
            self.services[spec.name] = Supervised(spec)
            self._launch(self.services[spec.name])
        self._write_state()
        self._watcher = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._watcher.start()
        return self

    def _launch(self, service: Supervised, *extra: str) -> None:
        with open(self.log_path(service.spec.name), "ab") as out:
            out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting\n".encode())
            out.flush()
            service.process = subprocess.Popen(
                # Launched from the main thread or the watcher, both of which live as long
                # as the supervisor: a SIGKILLed `rdv up` takes its stack along.
                guarded([*service.spec.command, *extra]),
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        service.started_at = time.monotonic()
        service.restart_at = None

    def _watch(self) -> None:
        while not self._stopping.wait(0.2):
            for name in self._requested_restarts():
                self.restart(name)
            changed = False
            with self._lock:
                for service in self.services.values():
                    changed |= self._check(service)
            if changed:
                self._write_state()

    def _check(self, service: Supervised) -> bool:
        now = time.monotonic()
        process = service.process
        if process is not None and process.poll() is None:
            if now - service.started_at > HEALTHY_AFTER_S:
                service.backoff_s = 1.0
            return False
        if service.held or self._stopping.is_set():
            return False
        if service.restart_at is None:
            assert process is not None
            service.last_exit = process.returncode
            service.restart_at = now + service.backoff_s
            log.warning(
                "%s exited with %s; restarting in %.0f s",
                service.spec.name,
                process.returncode,
                service.backoff_s,
            )
            service.backoff_s = min(service.backoff_s * 2, MAX_BACKOFF_S)
            return True
        if now >= service.restart_at:
            # Counted once launched: whoever reads the count finds the start in the log.
            self._launch(service)
            service.restarts += 1
            return True
        return False

    def kill(self, name: str, hold: bool = True) -> None:
        """SIGKILL one service, as a crash would. Held ones stay down until `release`."""
        with self._lock:
            service = self.services[name]
            service.held = hold
            if service.process is not None and service.process.poll() is None:
                service.process.send_signal(signal.SIGKILL)
                service.process.wait(10)
        self._write_state()

    def restart(self, name: str, timeout: float = 30.0) -> None:
        """A rolling upgrade's step: the same command started again at once (new code, same
        name), with no backoff. A service that `takes_over` starts first and stops the old one
        when ready; any other is SIGTERMed first, hands over and exits."""
        with self._lock:
            service = self.services[name]
            old = service.process
            service.held = False
            service.restarts += 1
            if service.spec.takes_over and old is not None and old.poll() is None:
                self._launch(service, "--take-over", str(old.pid))
                assert service.process is not None
                if not await_handover(old, service.process, timeout):
                    log.error(
                        "%s: the new process exited before taking over; the old one runs on", name
                    )
                    service.process = old
            else:
                if old is not None:
                    stop_process(old, timeout)
                self._launch(service)
        self._write_state()

    def _requested_restarts(self) -> list[str]:
        """Names `rdv restart` asked for (a file each under `restart/`), each taken once."""
        names = []
        for request in sorted(restart_requests(self.workdir).glob("*")):
            request.unlink(missing_ok=True)
            if request.name in self.services:
                names.append(request.name)
            else:
                log.warning("restart asked for %r, which this stack does not run", request.name)
        return names

    def release(self, name: str) -> None:
        with self._lock:
            service = self.services[name]
            if service.held:
                service.held = False
                self._launch(service)
                service.restarts += 1
        self._write_state()

    def running(self, name: str) -> bool:
        process = self.services[name].process
        return process is not None and process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(5)
        processes = [s.process for s in self.services.values() if s.process is not None]
        for process in processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + timeout
        for process in processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if self.state_file is not None:
            self.state_file.unlink(missing_ok=True)

    def snapshot(self) -> dict[str, Any]:
        services = {}
        for name, service in self.services.items():
            process = service.process
            alive = process is not None and process.poll() is None
            services[name] = {
                "pid": process.pid if process is not None else None,
                "state": "held" if service.held else "running" if alive else "restarting",
                "role": service.spec.role,
                "restarts": service.restarts,
                "last_exit": service.last_exit,
                "metrics_port": service.spec.metrics_port,
                "log": str(self.log_path(name)),
            }
        return {"supervisor_pid": os.getpid(), **self.extra_state, "services": services}

    def _write_state(self) -> None:
        if self.state_file is None:
            return
        with self._state_lock:
            staging = self.state_file.with_suffix(".tmp")
            staging.write_text(json.dumps(self.snapshot(), indent=2))
            os.replace(staging, self.state_file)  # readers never see half a file
