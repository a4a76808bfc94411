"""`rdv data generate`, `rdv train`, `rdv models list|show|alias`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rdv.errors import ConfigError
from rdv.model.registry import Registry
from rdv_tools.cli.common import BootstrapOption, console, out
from rdv_tools.spark_classes import spark_session

data_app = typer.Typer(help="Generated labelled data.", no_args_is_help=True)
models_app = typer.Typer(help="The model registry.", no_args_is_help=True)
feedback_app = typer.Typer(help="Feedback for training.", no_args_is_help=True)
RegistryOption = Annotated[Path, typer.Option("--registry", help="Registry directory.")]


@data_app.command()
def generate(
    out_file: Annotated[Path | None, typer.Option("--out", help="CSV file to write.")] = None,
    produce: Annotated[
        bool,
        typer.Option(
            help="Send the rows as requests, with feedback "
            "carrying their labels, instead of a file."
        ),
    ] = False,
    rows: Annotated[int, typer.Option(min=1, help="Rows to generate.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    drift: Annotated[
        float, typer.Option(min=0, max=1, help="Bots look this much more human (0..1).")
    ] = 0.0,
    bad_share: Annotated[float, typer.Option(min=0, max=1, help="Share of broken rows.")] = 0.0,
    requests_topic: Annotated[str, typer.Option(help="With --produce.")] = "requests",
    feedback_topic: Annotated[str, typer.Option(help="With --produce.")] = "feedback",
    bootstrap: BootstrapOption = None,
) -> None:
    """Labelled login-bot rows (seed 001's detector): a CSV for training, or requests on the
    topic plus feedback for each (broken rows are skipped when producing)."""
    from rdv_tools.demo.generator import login_rows, write_csv

    generated = login_rows(rows, seed, drift=drift, bad_share=bad_share)
    if produce == (out_file is not None):
        raise ConfigError("give either --out FILE or --produce")
    if out_file is not None:
        count = write_csv(out_file, generated)
        console.print(f"[green]wrote {count} rows[/] to {out_file}")
        return
    from rdv.settings import resolve_bootstrap
    from rdv_tools.demo.generator import produce_rows

    sent = produce_rows(resolve_bootstrap(bootstrap), generated, requests_topic, feedback_topic)
    console.print(
        f"[green]sent {sent} requests[/] to {requests_topic} and their labels to {feedback_topic}"
    )


def train(
    config: Annotated[Path, typer.Option("--config", help="Training config (YAML).")],
    master: Annotated[str, typer.Option(help="Spark master URL.")] = "local[*]",
) -> None:
    """Train on PySpark with cross-validation, evaluate on a held-out set, pass every gate,
    then export and register. Exits 1 with the gate report when a gate fails."""
    from rdv.trainer.config import load_train_config
    from rdv.trainer.train import train as run

    settings = load_train_config(config)
    with (
        spark_session(master, f"rdv-train-{settings.name}", say) as spark,
        console.status(f"training {settings.name}@{settings.version} on {master} ..."),
    ):
        outcome = run(spark, settings)
    table = Table("gate", "passed", "detail", title=f"{settings.name}@{settings.version}")
    for gate in outcome.report:
        table.add_row(gate.name, "yes" if gate.passed else "[red]NO[/]", gate.detail)
    out.print(table)
    out.print(
        "held-out: "
        + ", ".join(f"{k} {v:.4f}" for k, v in outcome.metrics.items())
        + f"; rows {outcome.rows}"
    )
    if outcome.entry is None:
        console.print("[red]not registered:[/] a gate failed")
        raise typer.Exit(1)
    console.print(f"[green]registered[/] {outcome.entry.model_id} in {outcome.entry.path}")


@models_app.command("list")
def list_models(registry: RegistryOption = Path("registry")) -> None:
    """Registered versions with their held-out metrics and aliases."""
    reg = Registry(registry)
    by_model: dict[str, list[str]] = {}
    for alias, model in reg.aliases().items():
        by_model.setdefault(model, []).append(alias)
    table = Table("model", "runtime", "aliases", "auc", "log loss", "rows (train/test/bad)")
    for entry in reg.list():
        m, rows = entry.info.get("metrics", {}), entry.info.get("rows", {})
        table.add_row(
            entry.model_id,
            entry.info.get("runtime", "stages"),
            ",".join(by_model.get(entry.model_id, [])),
            f"{m['auc']:.4f}" if "auc" in m else "-",
            f"{m['log_loss']:.4f}" if "log_loss" in m else "-",
            f"{rows.get('train')}/{rows.get('test')}/{rows.get('bad')}" if rows else "-",
        )
    out.print(table)


@models_app.command()
def examples(registry: RegistryOption = Path("registry")) -> None:
    """Register the hand-made login-bot example models (no Spark needed) with their aliases:
    champion, challenger, canary and fallback. Models already there are kept."""
    from rdv_tools.demo.first_models import first_models

    paths = first_models(Registry(registry), examples=True, progress=console.print)
    console.print(f"[green]example models ready[/] in {registry}: {', '.join(paths)}")


@models_app.command()
def show(
    model: Annotated[str, typer.Argument(help="name@version or an alias.")],
    registry: RegistryOption = Path("registry"),
) -> None:
    """Metrics, params, lineage and gate report of one version."""
    entry = Registry(registry).get(model)
    out.print(
        json.dumps(
            {"model": entry.model_id, "path": str(entry.path), **entry.info}, indent=2, default=str
        )
    )


@models_app.command()
def alias(
    name: Annotated[str, typer.Argument(help="champion, challenger, canary, fallback")],
    model: Annotated[str, typer.Argument(help="name@version")],
    registry: RegistryOption = Path("registry"),
) -> None:
    """Point an alias at a registered version."""
    Registry(registry).alias(name, model)
    console.print(f"{name} -> {model}")


@models_app.command()
def inspect(
    model: Annotated[str, typer.Argument(help="name@version, an alias, or a path.")],
    registry: RegistryOption = Path("registry"),
    nodes: Annotated[int, typer.Option(help="Most tree nodes to print.")] = 40,
) -> None:
    """A readable model: coefficients by feature name, or the trees as if/else rules."""
    from rdv.model import load_artifact
    from rdv.model.describe import describe

    path = Path(model)
    artifact = load_artifact(path) if path.is_dir() else Registry(registry).get(model).artifact
    out.print(describe(artifact, nodes))


@feedback_app.command("export")
def export_feedback(
    out_file: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
    topic: Annotated[str, typer.Option(help="Feedback topic.")] = "feedback",
    bootstrap: BootstrapOption = None,
) -> None:
    """Write the feedback topic to Parquet (the last word per request), for `rdv train`."""
    from rdv.settings import make_codec, resolve_bootstrap
    from rdv.trainer.sources import export_feedback as run

    count = run(resolve_bootstrap(bootstrap), topic, out_file, make_codec())
    console.print(f"[green]wrote feedback for {count} requests[/] to {out_file}")


def score_batch(
    model: Annotated[str, typer.Argument(help="name@version or an alias.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Parquet directory to write.")],
    input_csv: Annotated[Path | None, typer.Option("--input", help="CSV with a header.")] = None,
    archive: Annotated[Path | None, typer.Option(help="A decoy archive directory.")] = None,
    registry: RegistryOption = Path("registry"),
    master: Annotated[str, typer.Option(help="Spark master URL.")] = "local[*]",
) -> None:
    """Score a file or the archive on Spark with a registered model (precompute)."""
    from rdv.trainer.batch import score_batch as run

    entry = Registry(registry).get(model)
    with spark_session(master, "rdv-score-batch", say) as spark:
        count = run(spark, entry, out_dir, input_csv, archive)
    console.print(f"[green]scored {count} rows[/] with {entry.model_id} into {out_dir}")


def say(line: str) -> None:
    """A line about the Spark session itself (its first stop on a machine takes longer)."""
    console.print(f"[dim]{line}[/]")
