"""`rdv produce` and `rdv consume`: put requests on the topic and read any topic back."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from rdv.cli.common import BootstrapOption, console, out, to_json_line
from rdv.errors import ConfigError, DecodeError
from rdv.kafka import Consumer, Outgoing, Producer
from rdv.settings import make_codec, resolve_bootstrap
from rdv.topics import REQUESTS, SCHEMA_OF


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
    topic: Annotated[str, typer.Option(help="Topic to write to.")] = REQUESTS,
    bootstrap: BootstrapOption = None,
) -> None:
    """Send requests: JSON is checked against the Request schema and sent as Avro.

    Missing request_id, key and created_at are filled in; flat features are split into
    numeric and categorical by type. Prints each request id."""
    codec = make_codec()
    lines = _json_lines(json_text, file)
    records = []
    for number, line in enumerate(lines, 1):
        try:
            records.append(codec.decode("Request", line))
        except DecodeError as exc:
            raise ConfigError(f"request {number}: {exc.reason}") from exc
    producer = Producer(resolve_bootstrap(bootstrap))
    with Progress(console=console, transient=True, disable=len(records) < 100) as progress:
        task = progress.add_task("sending", total=len(records))
        for record in records:
            producer.send(Outgoing(topic, codec.encode("Request", record), record["key"].encode()))
            progress.advance(task)
        producer.flush()
    for record in records:
        out.print(record["request_id"])
    console.print(f"[green]sent {len(records)} request(s)[/] to {topic}")


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
    codec = make_codec()
    codec.catalog.current(name)  # an unknown --schema fails here, before connecting
    consumer = Consumer(
        resolve_bootstrap(bootstrap),
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
                content_type = msg.header("content-type")
                try:
                    record = codec.decode(
                        name, msg.value, content_type.decode() if content_type else None
                    )
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
