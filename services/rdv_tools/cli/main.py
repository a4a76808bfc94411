"""Entry point of `rdv`. Errors the user can fix print one line, never a traceback.

A service (`rdv worker`, `rdv rendezvous`, ...) is started through a small app that imports
only the services' commands: the whole CLI imports every tool (benchmarks, training, the
report), about 0.6 s of CPU per start on a 2-core machine, paid again by every process a
rolling upgrade replaces while the rest of the stack answers (docs/performance.md)."""

from __future__ import annotations

import logging
import sys

import typer

# First of the project's imports: it reads when this process started while the wall clock
# still agrees with that moment (a new worker group starts from it; rdv.runtime).
import rdv.runtime  # noqa: F401
from rdv.errors import RendezvousError
from rdv_tools.cli.common import console

SERVICES = frozenset({"worker", "decoy", "rendezvous", "gateway"})


def service_app() -> typer.Typer:
    from rdv_tools.cli.gateway_cmd import gateway
    from rdv_tools.cli.services_cmd import decoy, rendezvous, worker

    app = typer.Typer(name="rdv", pretty_exceptions_enable=False)
    for command in (worker, decoy, rendezvous, gateway):
        app.command()(command)
    return app


def full_app() -> typer.Typer:
    from rdv_tools.cli.app import app

    return app


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # librdkafka warns about every transient retry while a broker starts (coordinator load in
    # progress, ...); errors still show.
    logging.getLogger("rdv.kafka.librdkafka").setLevel(logging.ERROR)
    app = service_app() if sys.argv[1:2] and sys.argv[1] in SERVICES else full_app()
    try:
        app()
    except RendezvousError as exc:
        console.print(f"[red]error:[/] {exc}")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
