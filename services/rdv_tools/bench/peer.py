"""`rdv bench peer`: Rendezvous side by side with MLServer's Kafka server, in one run.

Both serve the same login-bot logistic regression (MLServer a scikit-learn twin with the same
coefficients, checked against the Rendezvous scorer before anything is timed) on the same
broker, one system at a time so that neither steals the other's CPU. Each is driven by the
same code: a fixed rate for latency (send to answer, p50/p99), then a burst sent as fast as
the client can for throughput (model answers per second until the last one is back)."""

from __future__ import annotations

import itertools
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rdv.errors import RendezvousError
from rdv.kafka import TopicSpec, create_topics
from rdv.model.artifact import load_artifact
from rdv.model.scorer import Prediction, Scorer
from rdv_tools.bench.e2e import WARM_SECONDS, Driven, RateResult, drive
from rdv_tools.bench.http_peer import gateway_over, mlserver_rest
from rdv_tools.bench.mlserver import (
    MLSERVER_VERSION,
    MLServerClient,
    MLServerProcess,
    build_twin,
    ensure_mlserver,
    logistic_spec,
)
from rdv_tools.bench.served import CHAMPION, PROBE, served_stack, warm_up
from rdv_tools.demo.examples import COUNTRIES
from rdv_tools.demo.generator import flat_features, login_requests
from rdv_tools.demo.stack import example_models

# For the burst, Rendezvous's SLA is widened (a config rollout) so that every answer waits for
# the model: throughput is then model answers, as MLServer's are, not defaults under overload.
BURST_SLA_MS = 30_000
MODEL_ANSWERS = ("mlserver", "preferred", "champion", "challenger", "fallback")


@dataclass
class PeerRow:
    system: str
    models: str
    delivery: str
    fixed: RateResult
    burst_sent: int
    burst_answered: int
    burst_model_answers_per_s: float
    burst_reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class PeerResult:
    rate: float
    seconds: float
    burst: int
    sla_ms: int
    twin_max_difference: float
    rows: list[PeerRow]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def known_rows(count: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """Login traffic from the countries the model knows: an unseen one is an error in both
    systems (a dead letter in Rendezvous, an exception and no answer in MLServer)."""
    rows = login_requests(count * 2, seed)
    return itertools.islice(
        (r for r in rows if r["features"]["categorical"]["country"] in COUNTRIES), count
    )


def burst(client: Driven, count: int, timeout: float = 120) -> tuple[int, float, dict[str, int]]:
    """Send `count` requests as fast as the client can; answers, model answers per second
    (first send to last answer), answers by reason."""
    answered_at: list[float] = []
    reasons: Counter[str] = Counter()
    lock = threading.Lock()
    all_in = threading.Event()  # set by the last answer's callback (see e2e.drive)

    def done(future: Future[dict[str, Any]]) -> None:
        with lock:
            answered_at.append(time.perf_counter())
            reasons[future.result()["reason"]] += 1
            if len(answered_at) == count:
                all_in.set()

    started = time.perf_counter()
    for i, row in enumerate(known_rows(count, seed=99)):
        client.submit(flat_features(row), key=row["key"]).add_done_callback(done)
        if i % 100 == 0:
            client.poll()
    client.flush()
    all_in.wait(timeout)
    with lock:  # answers still arriving after the timeout are not counted
        last, answered, by_reason = (
            max(answered_at, default=started),
            len(answered_at),
            dict(reasons),
        )
    model = sum(n for reason, n in by_reason.items() if reason in MODEL_ANSWERS)
    return answered, model / max(last - started, 1e-9), by_reason


def check_twin(python: Path, model_dir: Path, target: Path) -> float:
    """Build the twin; the largest difference between its and Rendezvous's bot probability."""
    rows = list(known_rows(200, seed=7))
    check = [flat_features(r) for r in rows]
    twin = build_twin(python, logistic_spec(model_dir, check), target)
    ours = Scorer(load_artifact(model_dir)).score([r["features"] for r in rows])
    worst = 0.0
    for mine, theirs in zip(ours, twin, strict=True):
        assert isinstance(mine, Prediction) and mine.probabilities is not None
        worst = max(worst, abs(mine.probabilities[-1] - theirs))
    if worst > 1e-9:
        raise RendezvousError(f"the scikit-learn twin disagrees with the model by {worst:.3g}")
    return worst


Measure = Callable[[Driven, Callable[[], None]], PeerRow]


def _run_mlserver(
    bootstrap: str,
    python: Path,
    models: Path,
    workdir: Path,
    measure: Measure,
    parallel_workers: int | None,
) -> PeerRow:
    suffix = f"-{int(time.time() * 1000) % 10**8}"
    topics = (f"mlserver-input{suffix}", f"mlserver-output{suffix}")
    create_topics(bootstrap, [TopicSpec(t, 6) for t in topics])
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    log = workdir / "logs" / "mlserver.log"
    server = MLServerProcess(python, models, bootstrap, topics, log, parallel_workers)
    try:
        with MLServerClient(bootstrap, CHAMPION.split("@", maxsplit=1)[0], topics) as client:
            # MLServer's consumer starts at the end of the topic once its group settles.
            warm_up(client, on_time=10, timeout=180, check=server.check_alive)
            return measure(client, lambda: None)
    finally:
        server.stop()


def _run_rendezvous(
    bootstrap: str,
    workdir: Path,
    models: str,
    delivery: str,
    sla_ms: int,
    measure: Measure,
    over_http: bool = False,
) -> PeerRow:
    with served_stack(bootstrap, workdir, sla_ms, delivery, models=models) as served:

        def widen() -> None:
            published = served.roll_out(BURST_SLA_MS, "bench peer: the burst")
            deadline = time.monotonic() + 30
            while served.client.predict(PROBE, timeout=5)["config_version"] < published.version:
                if time.monotonic() > deadline:
                    raise RendezvousError("the rendezvous did not take the burst config")

        if not over_http:
            return measure(served.client, widen)
        with gateway_over(served.stack.start, lambda: None) as client:
            return measure(client, widen)


def run_peer(
    bootstrap: str,
    rate: float,
    seconds: float,
    burst_size: int,
    sla_ms: int,
    progress: Callable[[str], None] = lambda _: None,
    over_http: bool = False,
) -> PeerResult:
    """Over Kafka by default; `over_http`: MLServer's REST server against `rdv gateway` in
    front of the stack, both called by one HTTP client."""
    progress(f"MLServer {MLSERVER_VERSION}: its virtualenv (created on first use)")
    python = ensure_mlserver()
    rows: list[PeerRow] = []
    with tempfile.TemporaryDirectory(prefix="rdv-peer-") as tmp:
        workdir = Path(tmp)
        models = example_models(workdir / "models")
        twin_dir = workdir / "mlserver-models" / "login-bot"
        worst = check_twin(python, models[CHAMPION], twin_dir)

        def measurer(system: str, what: str, delivery: str) -> Measure:
            def measure(client: Driven, widen: Callable[[], None]) -> PeerRow:
                # As `rdv bench e2e` does: a fresh stack's first seconds are slow (connections,
                # first fetches), and the steady state is what is compared.
                progress(f"{system}, {what}: warming up with {WARM_SECONDS:g} s of traffic")
                drive(client, rate, WARM_SECONDS, sla_ms, lambda n: known_rows(n, seed=5))
                progress(f"{system}, {what}: {rate:g} requests/s for {seconds:g} s")
                fixed = drive(client, rate, seconds, sla_ms, lambda n: known_rows(n, seed=1))
                widen()
                progress(f"{system}, {what}: a burst of {burst_size} requests")
                answered, per_s, reasons = burst(client, burst_size)
                return PeerRow(system, what, delivery, fixed, burst_size, answered, per_s, reasons)

            return measure

        if over_http:
            progress("MLServer REST, default settings: starting")
            with mlserver_rest(python, twin_dir.parent, workdir / "mlserver-rest", bootstrap) as c:
                rows.append(
                    measurer(f"MLServer {MLSERVER_VERSION} REST", "the model", "none")(
                        c, lambda: None
                    )
                )
            for models_set in ("champion", "all"):
                what = (
                    "champion, challenger, canary, fallback, decoy"
                    if models_set == "all"
                    else "the model"
                )
                progress(f"Rendezvous gateway, {what}: starting")
                rows.append(
                    _run_rendezvous(
                        bootstrap,
                        workdir / f"rdv-http-{models_set}",
                        models_set,
                        "exactly_once",
                        sla_ms,
                        measurer("Rendezvous gateway", what, "exactly_once"),
                        over_http=True,
                    )
                )
            return PeerResult(rate, seconds, burst_size, sla_ms, worst, rows)
        # MLServer's default runs inference in a separate process; with parallel_workers 0 it
        # runs in the server's own, which saves a hop for a model this small. Both are shown.
        for workers, setup in ((None, "default settings"), (0, "parallel_workers 0")):
            progress(f"MLServer, {setup}: starting")
            rows.append(
                _run_mlserver(
                    bootstrap,
                    python,
                    twin_dir.parent,
                    workdir / f"mlserver-{setup.replace(' ', '-')}",
                    measurer(f"MLServer {MLSERVER_VERSION}", f"the model, {setup}", "none"),
                    workers,
                )
            )
        for models_set, delivery in (
            ("champion", "at_least_once"),
            ("champion", "exactly_once"),
            ("all", "exactly_once"),
        ):
            what = (
                "champion, challenger, canary, fallback, decoy"
                if models_set == "all"
                else "the model"
            )
            progress(f"Rendezvous, {what}, {delivery}: starting")
            rows.append(
                _run_rendezvous(
                    bootstrap,
                    workdir / f"rdv-{models_set}-{delivery}",
                    models_set,
                    delivery,
                    sla_ms,
                    measurer("Rendezvous", what, delivery),
                )
            )
    return PeerResult(rate, seconds, burst_size, sla_ms, worst, rows)
