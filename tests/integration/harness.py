"""Run services as real processes and read topics, for the integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rdv.codec import Codec
from rdv.kafka import Consumer, Message, Outgoing, Producer
from rdv.protocol import new_request
from tests.cli import run_rdv

CODEC = Codec()


class Service:
    """One `rdv ...` subprocess with its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "rdv_tools.cli", *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    def wait(self, timeout: float = 30) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextmanager
def services(tmp: Path, bootstrap: str, env: dict[str, str]) -> Iterator[Callable[..., Service]]:
    started: list[Service] = []
    base = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, **env}

    def launch(*args: str, **extra_env: str) -> Service:
        log = tmp / f"{args[0]}-{len(started)}.log"
        service = Service(list(args), {**base, **extra_env}, log).start()
        started.append(service)
        return service

    try:
        yield launch
    finally:
        for service in started:
            service.stop()


# A consumer of a new group logs where the group starts: requests sent before that are not its
# to read (in CI's parallel part one was, and the test waited for it).
JOINED = "new group on"


def wait_for_line(read: Callable[[], str], line: str, count: int, timeout: float = 30) -> None:
    """Wait until a service has printed `line` `count` times."""
    deadline = time.monotonic() + timeout
    while read().count(line) < count:
        assert time.monotonic() < deadline, f"{line!r} not seen {count} times:\n{read()}"
        time.sleep(0.2)


def send_requests(
    bootstrap: str,
    topic: str,
    count: int,
    make: Callable[[int], dict[str, Any]] | None = None,
    rate: float | None = None,
) -> list[dict[str, Any]]:
    """Send `count` requests, all at once or at `rate` per second."""
    producer = Producer(bootstrap)
    # Connected before the first request is created: the SLA runs from creation, and a new
    # client's first messages otherwise wait out its connection and producer id.
    producer.connect(topic)
    sent = []
    started = time.perf_counter()
    for i in range(count):
        if rate:
            time.sleep(max(0.0, started + i / rate - time.perf_counter()))
            producer.poll(0)
        request = (
            make(i)
            if make
            else new_request(
                {"failed_logins": float(i % 9), "account_age_days": float(10 + i)},
                {"country": ["FR", "US", "DE"][i % 3]},
                key=f"user-{i % 37}",
            )
        )
        producer.send(Outgoing(topic, CODEC.encode("Request", request), request["key"].encode()))
        sent.append(request)
    producer.flush()
    return sent


def read_until(
    bootstrap: str,
    topic: str,
    done: Callable[[list[Message]], bool],
    timeout: float = 60,
    quiet: float = 0.0,
    committed_only: bool = True,
) -> list[Message]:
    """Read `topic` until `done`, then on until nothing has come for `quiet` seconds (what
    is still on its way, such as a restarted worker's repeats, is read too). Committed
    transactions only, unless `committed_only` is False (what RendezvousClient reads)."""
    isolation = "read_committed" if committed_only else "read_uncommitted"
    consumer = Consumer(
        bootstrap,
        f"reader-{uuid.uuid4().hex[:8]}",
        [topic],
        overrides={"enable.auto.commit": False, "isolation.level": isolation},
    )
    messages: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while not done(messages) and time.monotonic() < deadline:
            messages += consumer.poll_batch(1000, 0.2)
        last = time.monotonic()
        while time.monotonic() - last < quiet and time.monotonic() < deadline:
            batch = consumer.poll_batch(1000, 0.2)
            if batch:
                messages += batch
                last = time.monotonic()
    finally:
        consumer.close()
    return messages


def scores_of(messages: list[Message]) -> list[tuple[Message, dict[str, Any]]]:
    return [(m, CODEC.decode("Score", m.value)) for m in messages]


def free_block(size: int) -> int:
    """A base port with `size` free ports above it (for `rdv up`'s metrics ports), below the
    kernel's ephemeral range: there, any client's outgoing connection may take one of them
    between this check and the service's bind (seen in CI: a worker's metrics port)."""
    from rdv_tools.broker.embedded import free_port, listening_port

    for _ in range(50):
        base = listening_port()
        if base + size < 65000 and all(free_port(base + i) == base + i for i in range(size)):
            return base
    raise RuntimeError("no block of free ports")


def rdv_at_home(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`rdv ARGS` as a user on a machine whose RDV_HOME is `home`, with no Kafka settings
    but those in `env` (the session broker's are not inherited)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    return run_rdv(*args, env={**environ, "RDV_HOME": str(home), **env})


def eventually(check: Any, timeout: float = 90, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except (OSError, AssertionError, KeyError):
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(1)


def answers_and_letters(
    stack: Any, codec: Any, ids: set[str], reason: bytes, letters: int, timeout: float = 90
) -> tuple[dict[str, dict[str, Any]], list[Any]]:
    """The answers to `ids` (by request id), and the dead letters once `letters` of them
    carry `reason`."""

    def answered(messages: list[Any]) -> bool:
        return ids <= {codec.decode("Answer", m.value)["request_id"] for m in messages}

    found = read_until(stack.bootstrap, stack["answers"], answered, timeout)
    refused = read_until(
        stack.bootstrap,
        stack["dead-letters"],
        lambda m: sum(reason in x.value for x in m) >= letters,
        60,
    )
    answers = (codec.decode("Answer", m.value) for m in found)
    return {a["request_id"]: a for a in answers if a["request_id"] in ids}, refused


def scored_by(codec: Any, messages: list[Message], model: str) -> set[str]:
    """The request ids that `model` (name@version) scored without error, from `results`:
    whether a worker read a request, whatever tier then answered it (which depends on how
    fast each worker read, so on the machine's load)."""
    name, _, version = model.partition("@")
    scores = (codec.decode("Score", m.value) for m in messages if m.value)
    return {
        s["request_id"]
        for s in scores
        if (s["model"]["name"], s["model"]["version"]) == (name, version) and not s["error"]
    }
