"""Running a whole stack as local processes: for the benchmark now, for `rdv up` later."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from rdv.codec import Codec
from rdv.kafka import TopicSpec, create_topics
from rdv.kafka.admin import delete_topics
from rdv.rollout.config import RolloutConfig, Tier
from rdv.settings import SharedSettings, make_codec
from rdv.topics import DEFAULT_PARTITIONS, architecture_topics
from rdv.worker.settings import worker_group
from rdv_tools.demo.examples import login_bot_logistic, login_bot_tree
from rdv_tools.processes import spawn
from rdv_tools.up.supervisor import await_handover, stop_process, takes_over

ROLES = {
    "login-bot@2": "champion",
    "login-bot@3": "challenger",
    "login-bot@1": "canary",
    "fast@1": "fallback",
}


def example_models(directory: Path) -> dict[str, Path]:
    """The four example models of the demo, written once into `directory`."""
    paths = {
        "login-bot@2": directory / "login-bot@2",
        "login-bot@3": directory / "login-bot@3",
        "login-bot@1": directory / "login-bot@1",
        "fast@1": directory / "fast@1",
    }
    if not (paths["login-bot@2"] / "manifest.json").exists():
        login_bot_logistic(paths["login-bot@2"], "2")
        login_bot_logistic(paths["login-bot@3"], "3", slope=1.2)
        login_bot_tree(paths["login-bot@1"], "1")
        login_bot_tree(paths["fast@1"], "1", name="fast")
    return paths


def example_config(sla_ms: int = 50) -> RolloutConfig:
    return rollout_for(ROLES, sla_ms)


def rollout_for(roles: dict[str, str], sla_ms: int = 50) -> RolloutConfig:
    """The first rollout of a stack: each model in its role (model id -> role), the
    challenger scoring in shadow."""
    by_role = {role: model for model, role in reversed(roles.items())}
    challengers = (by_role["challenger"],) if "challenger" in by_role else ()
    return RolloutConfig(
        champion=by_role["champion"],
        challengers=challengers,
        canary=by_role.get("canary"),
        fallback=by_role.get("fallback"),
        shadow=challengers,
        sla_ms=sla_ms,
        grace_ms=200,
        schedule=(
            Tier("preferred", 0),
            Tier("champion", int(sla_ms * 0.4)),
            Tier("fallback", int(sla_ms * 0.7)),
        ),
    )


# The name `rdv up` and the benchmarks give the worker process that hosts several models.
COHOST_NAME = "models"
# Co-hosted models score in this order: the one that answers first, shadows last.
SCORING_ORDER = ("champion", "challenger", "canary")
# Roles never co-hosted: the fallback exists to answer when the champion cannot, so it must
# not share the champion's process (Dunning's point: its failures are independent).
APART = ("fallback",)


def split_for_cohosting(
    models: dict[str, Path], roles: dict[str, str] = ROLES
) -> tuple[dict[str, Path], dict[str, Path]]:
    """The models to co-host, and those that keep a process of their own."""
    together = {m: p for m, p in models.items() if roles.get(m, "challenger") not in APART}
    apart = {m: p for m, p in models.items() if m not in together}
    return together, apart


def cohost_args(models: dict[str, Path], roles: dict[str, str] = ROLES) -> tuple[list[str], str]:
    """`rdv worker` arguments hosting `models` in one process, the champion first, and the
    consumer group the worker joins by default."""
    order = sorted(models, key=lambda m: SCORING_ORDER.index(roles.get(m, "challenger")))
    args = ["worker"]
    for model in order:
        args += ["--model", str(models[model]), "--role", roles.get(model, "challenger")]
    return args, worker_group(order)


def replica_name(model: str, replica: int) -> str:
    """The first worker of a model is named by the model; the others `<model>#<k>`."""
    return model if replica == 1 else f"{model}#{replica}"


@dataclass
class LocalStack:
    """Topics with a private suffix (or the standard names), and service processes."""

    bootstrap: str
    workdir: Path
    partitions: int = DEFAULT_PARTITIONS
    private: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    suffix: str = ""
    topics: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)  # name -> rdv arguments

    def create_topics(self) -> None:
        self.suffix = f"-{uuid.uuid4().hex[:8]}" if self.private else ""
        specs = architecture_topics(self.partitions)
        self.topics = {s.name: s.name + self.suffix for s in specs}
        create_topics(
            self.bootstrap, [TopicSpec(self.topics[s.name], s.partitions, s.config) for s in specs]
        )

    def delete_topics(self) -> None:
        """Delete the private topics this stack made: a broker that serves many runs would
        otherwise keep every run's topics (and its heap grows with them)."""
        if self.private and self.topics:
            delete_topics(self.bootstrap, list(self.topics.values()))
            self.topics = {}

    def client_codec(self) -> Codec:
        """A codec for this stack's clients: they publish their schemas where its services look
        (the stack's schemas topic, not the standard one)."""
        settings = SharedSettings(schemas_topic=self.topics["schemas"])
        return make_codec(settings, bootstrap=self.bootstrap)

    @property
    def env(self) -> dict[str, str]:
        t = self.topics
        env = {"KAFKA_BOOTSTRAP_SERVERS": self.bootstrap}
        for prefix in ("RDV_WORKER_", "RDV_RENDEZVOUS_", "RDV_DECOY_", "RDV_GATEWAY_"):
            env[f"{prefix}REQUESTS_TOPIC"] = t["requests"]
        env.update(
            {
                "RDV_SCHEMAS_TOPIC": t["schemas"],
                "RDV_GATEWAY_ANSWERS_TOPIC": t["answers"],
                "RDV_WORKER_RESULTS_TOPIC": t["results"],
                "RDV_WORKER_DEAD_LETTERS_TOPIC": t["dead-letters"],
                "RDV_RENDEZVOUS_RESULTS_TOPIC": t["results"],
                "RDV_RENDEZVOUS_FEEDBACK_TOPIC": t["feedback"],
                "RDV_RENDEZVOUS_ANSWERS_TOPIC": t["answers"],
                "RDV_RENDEZVOUS_LOG_TOPIC": t["rendezvous.log"],
                "RDV_RENDEZVOUS_CONFIG_TOPIC": t["rendezvous.config"],
                "RDV_WORKER_CONFIG_TOPIC": t["rendezvous.config"],
                "RDV_RENDEZVOUS_STATE_TOPIC": t["rendezvous.state"],
                "RDV_RENDEZVOUS_DEAD_LETTERS_TOPIC": t["dead-letters"],
            }
        )
        if self.private:
            env["RDV_RENDEZVOUS_GROUP_ID"] = f"rdv-rendezvous{self.suffix}"
            env["RDV_DECOY_GROUP_ID"] = f"rdv-decoy{self.suffix}"
        env.update(self.extra_env)
        return env

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        # A rendezvous is named as its process is, so a restart comes back as the same
        # instance: it fences what its predecessor left open and takes its partitions back.
        named = {"RDV_RENDEZVOUS_INSTANCE": name} if args[:1] == ("rendezvous",) else {}
        with open(logs / f"{name}.log", "ab") as out:
            # Guarded: a test run killed mid-scenario (a timeout) leaves no service behind to
            # load the machine for every later test.
            process = spawn(
                [sys.executable, "-m", "rdv_tools.cli", *args],
                env={**os.environ, **self.env, **named},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.processes[name] = process
        self.commands[name] = list(args)
        return process

    def restart(self, name: str, *extra: str) -> subprocess.Popen[bytes]:
        """SIGKILL `name` if it runs, then start it again with its arguments plus `extra`."""
        process = self.processes[name]
        if process.poll() is None:
            process.kill()
            process.wait(10)
        command = self.commands[name]
        process = self.start(name, *command, *extra)
        self.commands[name] = command  # `extra` is for this run only
        return process

    def replace(self, name: str, timeout: float = 30.0) -> subprocess.Popen[bytes]:
        """A rolling upgrade's step: `name` started again, the same way, as a new process (new
        code, same name). A rendezvous or worker starts first and stops the old one once it is
        ready (`--take-over`); the decoy is SIGTERMed, hands over and exits first."""
        old, command = self.processes[name], self.commands[name]
        if takes_over(command[0]) and old.poll() is None:
            new = self.start(name, *command, "--take-over", str(old.pid))
            self.commands[name] = command  # `--take-over` is for this run only
            if not await_handover(old, new, timeout):
                raise RuntimeError(f"{name}: the new process exited before taking over")
            return new
        stop_process(old, timeout)
        return self.start(name, *command)

    def start_workers(
        self, models: dict[str, Path], replicas: int = 1, cohost: bool = False
    ) -> None:
        """`replicas` workers per model; those of one model share its consumer group. With
        `cohost`, the models but the fallback share a worker process (`replicas` of it)."""
        together, apart = split_for_cohosting(models) if cohost else ({}, models)
        for replica in range(1, replicas + 1):
            if together:
                args, group = cohost_args(together)
                if self.private:
                    args += ["--group", f"{group}{self.suffix}"]
                self.start(replica_name(COHOST_NAME, replica), *args)
            for model, path in apart.items():
                args = ["worker", "--model", str(path), "--role", ROLES.get(model, "challenger")]
                if self.private:
                    args += ["--group", f"{worker_group([model])}{self.suffix}"]
                self.start(replica_name(model, replica), *args)

    def stop(self, timeout: float = 20.0) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
