"""`rdv produce` and `rdv consume`: put requests on the topic and read any topic back."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress

from rdv.errors import ConfigError, DecodeError
from rdv.kafka import Consumer, Outgoing, Producer
from rdv.protocol import STATE
from rdv.rendezvous.state import POSTERIORS
from rdv.settings import make_codec, resolve_bootstrap
from rdv.topics import REQUESTS, SCHEMA_OF
from rdv_tools.cli.common import BootstrapOption, console, out, to_json_line
from rdv_tools.demo.generator import login_requests


def _json_lines(json_text: str | None, file: Path | None) -> list[bytes]:
    if json_text and file:
        raise ConfigError("give either --json or --file, not both")
    if json_text:
        return [json_text.encode()]
    if file is None:
        raise ConfigError("nothing to send: give --json '{\"features\": {...}}' or --file FILE")
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read {file}: {exc.strerror}") from exc
    return [line.encode() for line in text.splitlines() if line.strip()]


def produce(
    json_text: Annotated[
        str | None,
        typer.Option(
            "--json", help='One request as JSON, e.g. \'{"key": "u1", "features": {"age": 31}}\'.'
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="JSON lines, one request each ('-' for stdin)."),
    ] = None,
    count: Annotated[
        int | None, typer.Option(min=1, help="Generate this many login-bot requests instead.")
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(min=0.1, help="Requests per second (default: as fast as possible)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the generated requests.")] = 0,
    topic: Annotated[str, typer.Option(help="Topic to write to.")] = REQUESTS.name,
    quiet: Annotated[bool, typer.Option(help="Do not print request ids.")] = False,
    bootstrap: BootstrapOption = None,
) -> None:
    """Send requests: from JSON (checked against the Request schema, sent as Avro) or
    generated login-bot traffic, at a steady rate if asked. Prints each request id.

    Missing request_id, key and created_at are filled in; flat features are split into
    numeric and categorical by type."""
    codec = make_codec()
    if count is not None:
        if json_text or file:
            raise ConfigError("give --count, or --json/--file, not both")
        records: Iterable[dict[str, Any]] = login_requests(count, seed)
        total = count
    else:
        decoded = []
        for number, line in enumerate(_json_lines(json_text, file), 1):
            try:
                decoded.append(codec.decode(REQUESTS.schema, line))
            except DecodeError as exc:
                raise ConfigError(f"request {number}: {exc.reason}") from exc
        records, total = decoded, len(decoded)
    producer = Producer(resolve_bootstrap(bootstrap))
    producer.connect(topic)  # before the first request is created: its SLA starts then
    started, sent = time.monotonic(), 0
    with Progress(console=console, transient=True, disable=total < 100) as progress:
        task = progress.add_task("sending", total=total)
        for record in records:
            if rate:
                pause = started + sent / rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            producer.send(
                Outgoing(topic, codec.encode(REQUESTS.schema, record), record["key"].encode())
            )
            sent += 1
            progress.advance(task)
            if not quiet:
                out.print(record["request_id"])
        producer.flush()
    elapsed = time.monotonic() - started
    console.print(f"[green]sent {sent} request(s)[/] to {topic} in {elapsed:.1f} s")


def predict(
    json_text: Annotated[
        str,
        typer.Option(
            "--json", help='Features as JSON, e.g. \'{"failed_logins": 7, "country": "FR"}\'.'
        ),
    ],
    key: Annotated[str | None, typer.Option(help="Request key (entity id).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the answer.")] = 5.0,
    bootstrap: BootstrapOption = None,
) -> None:
    """Send one request and print its answer (needs a running rendezvous)."""
    from rdv.client import RendezvousClient

    try:
        features = json.loads(json_text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--json is not valid JSON: {exc}") from exc
    if not isinstance(features, dict):
        raise ConfigError("--json must be an object of features")
    with RendezvousClient(bootstrap) as client:
        out.print(to_json_line(client.predict(features, timeout, key)))


def consume(
    topic: Annotated[str, typer.Argument(help="Topic to read.")],
    schema: Annotated[
        str | None,
        typer.Option(help="Schema of the values (Request, Score, ...). Default: the topic's."),
    ] = None,
    limit: Annotated[
        int, typer.Option("--max", "-n", min=1, help="Stop after N messages.")
    ] = 1_000_000,
    timeout: Annotated[float, typer.Option(help="Stop after this many idle seconds.")] = 10.0,
    bootstrap: BootstrapOption = None,
) -> None:
    """Print a topic's messages from the beginning as JSON lines, decoded."""
    name = schema or SCHEMA_OF.get(topic)
    if name is None:
        raise ConfigError(f"no known schema for topic {topic!r}: pass --schema Request|Score|...")
    servers = resolve_bootstrap(bootstrap)
    codec = make_codec(bootstrap=servers)  # finds a newer writer's schema on the schemas topic
    codec.catalog.current(name)  # an unknown --schema fails here, before connecting
    consumer = Consumer(
        servers,
        f"rdv-consume-{uuid.uuid4().hex[:8]}",
        [topic],
        overrides={"enable.auto.commit": False},
    )
    seen, idle_since = 0, time.monotonic()
    try:
        while seen < limit and time.monotonic() - idle_since < timeout:
            batch = consumer.poll_batch(min(500, limit - seen), 0.2)
            if batch:
                idle_since = time.monotonic()
            for msg in batch:
                if msg.header(STATE) == POSTERIORS and msg.value:
                    # rendezvous.state's Thompson evidence of one partition: JSON, not a record.
                    evidence = json.loads(msg.value)
                    out.print(to_json_line({"posteriors": evidence, "partition": msg.partition}))
                    seen += 1
                    continue
                try:
                    record = codec.decode(name, msg.value, msg.content_type, msg)
                    out.print(to_json_line(record))
                except DecodeError as exc:
                    out.print(
                        to_json_line(
                            {
                                "undecodable": exc.reason,
                                "partition": msg.partition,
                                "offset": msg.offset,
                            }
                        )
                    )
                seen += 1
    finally:
        consumer.close()
    console.print(f"{seen} message(s) from {topic}")
