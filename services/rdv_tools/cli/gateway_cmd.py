"""`rdv gateway`: the Open Inference Protocol V2 REST API in front of the rendezvous."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Annotated

import typer

from rdv.runtime import service_logging, stop_on_signals
from rdv.settings import resolve_bootstrap
from rdv.settings_util import load_settings
from rdv_tools.cli.common import BootstrapOption, console


def gateway(
    port: Annotated[int | None, typer.Option(help="HTTP port (RDV_GATEWAY_PORT; 8000).")] = None,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (RDV_GATEWAY_HOST; 127.0.0.1).")
    ] = None,
    model_name: Annotated[
        str | None,
        typer.Option(help="The model name clients infer with (RDV_GATEWAY_MODEL_NAME)."),
    ] = None,
    registry: Annotated[
        Path | None, typer.Option(help="Registry whose champion's features the metadata lists.")
    ] = None,
    bootstrap: BootstrapOption = None,
) -> None:
    """Serve the Open Inference Protocol (V2) over HTTP: each infer call's rows become
    requests, and the rendezvous's answers come back with model, role, reason and request id.
    Works with tritonclient, MLServer's and KServe's clients, and curl. /metrics on the same
    port."""
    service_logging()
    from rdv.gateway.server import serve
    from rdv.gateway.settings import GatewaySettings

    settings = load_settings(
        GatewaySettings, port=port, host=host, model_name=model_name, registry=registry
    )
    stopping = threading.Event()
    stop_on_signals(stopping)
    server = serve(settings, resolve_bootstrap(bootstrap), stopping)
    bound = server.server_address[1]
    console.print(
        f"gateway on http://{settings.host}:{bound}/v2/models/{settings.model_name}/infer; "
        "Ctrl-C or SIGTERM to stop"
    )
    stopping.wait()
