"""`rdv registry start|stop|status`: a Confluent-compatible schema registry on this machine."""

from __future__ import annotations

from typing import Annotated

import typer

from rdv_tools.cli.common import console, out
from rdv_tools.registry import apicurio

app = typer.Typer(
    help="Run Apicurio Registry (Confluent-compatible, in memory) on this machine.",
    no_args_is_help=True,
)


@app.command()
def start(
    port: Annotated[int, typer.Option(help="HTTP port.")] = apicurio.DEFAULT_PORT,
    timeout: Annotated[float, typer.Option(help="Seconds to wait until it answers.")] = 90.0,
) -> None:
    """Fetch Apicurio Registry with Maven (once) and start it in the background; prints the URL
    to give the services as RDV_SCHEMA_REGISTRY_URL. Schemas live in memory: a restart
    forgets them."""
    with console.status(f"starting Apicurio Registry {apicurio.VERSION}"):
        state = apicurio.start(port, timeout=timeout)
    console.print(f"schema registry (Apicurio {apicurio.VERSION}, pid {state.pid}) at:")
    out.print(state.url)


@app.command()
def stop() -> None:
    """Stop the registry `rdv registry start` left running."""
    console.print("stopped" if apicurio.stop() else "no registry was running")


@app.command()
def status() -> None:
    """Whether a registry runs, and its URL."""
    state = apicurio.running()
    if state is None:
        out.print("not running")
        raise typer.Exit(1)
    out.print(f"running (pid {state.pid}) at {state.url}")
