"""`rdv rollout show|history|set|shadow|split|promote|rollback`: rolling models out by config."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rdv.errors import ConfigError
from rdv.rendezvous.settings import RendezvousServiceSettings
from rdv.rollout.config import RolloutConfig, parse_config
from rdv.rollout.store import publish, read_history
from rdv.settings import make_codec, resolve_bootstrap
from rdv.settings_util import load_settings
from rdv_tools.cli.common import BootstrapOption, console, out

app = typer.Typer(
    help="Roll models out by publishing rollout configs (validated first).", no_args_is_help=True
)
Comment = Annotated[str | None, typer.Option("--comment", "-m", help="Why; kept in history.")]


def _topic() -> str:
    """The config topic, as the rendezvous is told: RDV_RENDEZVOUS_CONFIG_TOPIC."""
    return load_settings(RendezvousServiceSettings).config_topic


def _latest(bootstrap: str) -> RolloutConfig | None:
    history = read_history(bootstrap, make_codec(), _topic())
    return history[-1] if history else None


def _require(bootstrap: str) -> RolloutConfig:
    latest = _latest(bootstrap)
    if latest is None:
        raise ConfigError("no rollout config published yet: start with `rdv rollout set FILE`")
    return latest


def _publish(
    bootstrap: str, config: RolloutConfig, previous: RolloutConfig | None, comment: str | None
) -> None:
    published = publish(bootstrap, make_codec(), config, previous, comment, _topic())
    console.print(
        f"[green]published rollout config v{published.version}[/]: champion "
        f"{published.champion}, mode {published.mode}"
        + (f" {published.split}" if published.mode == "split" else "")
        + (f", shadow {list(published.shadow)}" if published.shadow else "")
    )


@app.command()
def show(bootstrap: BootstrapOption = None) -> None:
    """Print the config in force as YAML."""
    latest = _require(resolve_bootstrap(bootstrap))
    when = datetime.datetime.fromtimestamp(latest.published_at / 1000, datetime.UTC)
    out.print(
        f"# version {latest.version}, by {latest.author} at {when:%Y-%m-%d %H:%M:%S} UTC"
        + (f": {latest.comment}" if latest.comment else "")
    )
    out.print(latest.to_yaml(), end="")


@app.command()
def history(bootstrap: BootstrapOption = None) -> None:
    """Every version kept on the topic: who, when, what."""
    table = Table("version", "published (UTC)", "by", "champion", "mode", "shadow", "comment")
    for c in read_history(resolve_bootstrap(bootstrap), make_codec(), _topic()):
        when = datetime.datetime.fromtimestamp(c.published_at / 1000, datetime.UTC)
        mode = c.mode + (
            " " + ",".join(f"{m}={w:g}" for m, w in c.split.items()) if c.mode == "split" else ""
        )
        table.add_row(
            str(c.version),
            f"{when:%Y-%m-%d %H:%M:%S}",
            c.author,
            c.champion,
            mode,
            ",".join(c.shadow),
            c.comment or "",
        )
    out.print(table)


@app.command("set")
def set_config(
    file: Annotated[Path, typer.Argument(help="YAML rollout config.")],
    bootstrap: BootstrapOption = None,
    comment: Comment = None,
    if_absent: Annotated[
        bool,
        typer.Option(
            "--if-absent",
            help="Publish only when no config is on the topic yet (for first starts).",
        ),
    ] = False,
) -> None:
    """Validate FILE and publish it as the next version."""
    try:
        text = file.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror}") from exc
    config = parse_config(text, str(file)).validated()
    servers = resolve_bootstrap(bootstrap)
    latest = _latest(servers)
    if if_absent and latest is not None:
        console.print(f"rollout config v{latest.version} is in force; {file} not published")
        return
    _publish(servers, config, latest, comment)


@app.command()
def shadow(
    model: Annotated[str, typer.Argument(help="name@version to record, never return.")],
    bootstrap: BootstrapOption = None,
    comment: Comment = None,
) -> None:
    """Add MODEL as a shadow: its scores are recorded and compared, never returned."""
    servers = resolve_bootstrap(bootstrap)
    latest = _require(servers)
    split = {m: w for m, w in latest.split.items() if m != model}
    mode = latest.mode if split else "fixed"
    config = latest.evolve(
        shadow=tuple(dict.fromkeys([*latest.shadow, model])),
        split=split,
        mode=mode,
        challengers=tuple(m for m in latest.challengers if m != model),
    )
    _publish(servers, config, latest, comment or f"shadow {model}")


@app.command()
def split(
    weights: Annotated[str, typer.Argument(help="e.g. login-bot@2=0.8,login-bot@3=0.2")],
    bootstrap: BootstrapOption = None,
    comment: Comment = None,
) -> None:
    """Split traffic by key between models, sticky per key; new models become challengers."""
    parsed: dict[str, float] = {}
    for part in weights.split(","):
        model, _, weight = part.partition("=")
        try:
            parsed[model.strip()] = float(weight)
        except ValueError as exc:
            raise ConfigError(f"bad weight in {part!r}: write MODEL=WEIGHT,...") from exc
    servers = resolve_bootstrap(bootstrap)
    latest = _require(servers)
    challengers = [*latest.challengers] + [
        m for m in parsed if m != latest.champion and m not in latest.challengers
    ]
    config = latest.evolve(
        mode="split",
        split=parsed,
        challengers=tuple(challengers),
        shadow=tuple(m for m in latest.shadow if m not in parsed),
    )
    _publish(servers, config, latest, comment or f"split {weights}")


@app.command()
def thompson(
    models: Annotated[
        str, typer.Argument(help="The arms, e.g. login-bot@2,login-bot@3 (two or more).")
    ],
    bootstrap: BootstrapOption = None,
    comment: Comment = None,
) -> None:
    """Let feedback choose: each request's preferred model is drawn from Beta posteriors of
    MODELS' rewards (Thompson sampling). The champion stays champion if it is one of them;
    the others become challengers."""
    arms = list(dict.fromkeys(m.strip() for m in models.split(",") if m.strip()))
    if len(arms) < 2:
        raise ConfigError(f"thompson needs two or more models separated by commas, got {models!r}")
    servers = resolve_bootstrap(bootstrap)
    latest = _require(servers)
    champion = latest.champion if latest.champion in arms else arms[0]
    config = latest.evolve(
        champion=champion,
        challengers=tuple(m for m in arms if m != champion),
        mode="thompson",
        split={},
        shadow=tuple(m for m in latest.shadow if m not in arms),
    )
    _publish(servers, config, latest, comment or f"thompson {','.join(arms)}")


@app.command()
def promote(
    model: Annotated[str, typer.Argument(help="name@version to make champion.")],
    bootstrap: BootstrapOption = None,
    comment: Comment = None,
) -> None:
    """Make MODEL the champion; the old champion becomes a challenger; traffic goes fixed."""
    servers = resolve_bootstrap(bootstrap)
    latest = _require(servers)
    if model == latest.champion:
        raise ConfigError(f"{model} is already the champion")
    challengers = [m for m in (latest.champion, *latest.challengers) if m != model]
    config = latest.evolve(
        champion=model,
        challengers=tuple(challengers),
        mode="fixed",
        split={},
        shadow=tuple(m for m in latest.shadow if m != model),
    )
    _publish(servers, config, latest, comment or f"promote {model}")


@app.command()
def rollback(bootstrap: BootstrapOption = None, comment: Comment = None) -> None:
    """Publish the previous version again, as a new version."""
    servers = resolve_bootstrap(bootstrap)
    history = read_history(servers, make_codec(), _topic())
    if len(history) < 2:
        raise ConfigError("nothing to roll back to: fewer than two versions on the topic")
    previous, latest = history[-2], history[-1]
    _publish(servers, previous, latest, comment or f"rollback to v{previous.version}")
