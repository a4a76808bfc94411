"""Pieces every subcommand shares: options, the console, output of records."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from rdv.errors import ConfigError
from rdv_tools.bench import MODEL_SETS

console = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 200)
# Piped output is read by scripts and tests: wide enough that tables do not fold their cells.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)

# Where a benchmark also writes its figures, for docs, plots and comparisons across runs.
FiguresOption = Annotated[Path | None, typer.Option("--json", help="Also write figures here.")]

DeliveryOption = Annotated[
    str, typer.Option(help="exactly_once (Kafka transactions) or at_least_once.")
]
ModelsOption = Annotated[
    str,
    typer.Option(
        help="all (champion, challenger, canary, fallback, decoy, a worker process each), "
        "cohosted (the same, champion, challenger and canary in one worker process) or champion."
    ),
]


def check_stack(delivery: str, models: str) -> None:
    """One line for a benchmark's --delivery or --models that is not one of the choices."""
    if delivery not in ("exactly_once", "at_least_once"):
        raise ConfigError(f"--delivery must be exactly_once or at_least_once, not {delivery!r}")
    if models not in MODEL_SETS:
        raise ConfigError(f"--models must be one of {', '.join(MODEL_SETS)}, not {models!r}")


BootstrapOption = Annotated[
    str | None,
    typer.Option(
        "--bootstrap",
        "-b",
        metavar="HOST:PORT",
        help="Kafka bootstrap servers. Default: KAFKA_BOOTSTRAP_SERVERS, else the running "
        "embedded broker.",
    ),
]


@contextmanager
def optional_extra(needs: str, extra: str) -> Iterator[None]:
    """Imports of an optional extra, made where a command needs them (every service starts
    through this CLI, so its top level imports none): a missing one gets one line naming the
    extra to install."""
    try:
        yield
    except ImportError as exc:
        raise ConfigError(f"{needs} ({exc}): pip install 'rendezvous-serving[{extra}]'") from exc


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "b64:" + base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def to_json_line(record: dict[str, Any]) -> str:
    return json.dumps(_jsonable(record), separators=(",", ":"), allow_nan=True)
