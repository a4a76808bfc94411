"""Every command of `rdv`, for its help and for the commands that are not services."""

from __future__ import annotations

import typer

from rdv_tools.cli import (
    bench_cmd,
    broker_cmd,
    chaos_cmd,
    gateway_cmd,
    peer_cmd,
    register_cmd,
    registry_cmd,
    replay_cmd,
    report_cmd,
    rollout_cmd,
    soak_cmd,
    state_cmd,
    topics_cmd,
    up_cmd,
)
from rdv_tools.cli.messages_cmd import consume, predict, produce
from rdv_tools.cli.services_cmd import decoy, rendezvous, worker
from rdv_tools.cli.training_cmd import data_app, feedback_app, models_app, score_batch, train

app = typer.Typer(
    name="rdv",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Rendezvous: serve machine-learning models on Kafka with the rendezvous architecture.",
)
app.add_typer(broker_cmd.app, name="broker")
app.add_typer(registry_cmd.app, name="registry")
app.add_typer(topics_cmd.app, name="topics")
bench_cmd.app.command()(chaos_cmd.chaos)
bench_cmd.app.command()(peer_cmd.peer)
bench_cmd.app.command()(soak_cmd.soak)
bench_cmd.app.command()(soak_cmd.plot)
bench_cmd.app.command("state-restore")(state_cmd.state_restore)
app.add_typer(bench_cmd.app, name="bench")
app.add_typer(rollout_cmd.app, name="rollout")
app.add_typer(data_app, name="data")
models_app.command()(register_cmd.register)
app.add_typer(models_app, name="models")
app.add_typer(feedback_app, name="feedback")
app.command()(gateway_cmd.gateway)
app.command()(produce)
app.command()(consume)
app.command()(predict)
app.command()(replay_cmd.replay)
app.command()(report_cmd.report)
app.command()(up_cmd.up)
app.command("demo", help="The same as `rdv up`.")(up_cmd.up)
app.command()(up_cmd.down)
app.command()(up_cmd.status)
app.command()(up_cmd.restart)
app.command()(up_cmd.logs)
app.command()(worker)
app.command()(decoy)
app.command()(rendezvous)
app.command()(train)
app.command("score-batch")(score_batch)
