"""Encode and decode the project's messages: Avro in two framings, and JSON for requests."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any, Protocol, cast

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError
from fastavro.validation import ValidationError, validate

from rdv.codec.catalog import SchemaCatalog, SchemaVersion, default_catalog, drop_logical_types
from rdv.codec.framing import (
    CONFLUENT_MAGIC,
    SINGLE_OBJECT_MARKER,
    SchemaRegistry,
    frame_confluent,
    frame_single_object,
    split_confluent,
    split_single_object,
)
from rdv.codec.json_input import Origin, complete_json_record
from rdv.codec.replay import as_replayed, replay_run, replayed_id
from rdv.errors import ConfigError, DecodeError, EncodeError

JSON_CONTENT_TYPE = "application/json"
Datum = dict[str, Any]


class SchemaBook(Protocol):
    """Where writers publish their schemas and readers find the ones they lack (the schemas
    topic): what lets a reader resolve a message written with a newer schema."""

    def publish(self, fingerprint: bytes, definition: dict[str, Any]) -> None: ...

    def lookup(self, fingerprint: bytes) -> dict[str, Any] | None: ...


class Codec:
    """One codec per process: schemas are parsed once, in the catalog.

    Writes single-object encoding, or Confluent framing when a registry is given. Reads both,
    and JSON; the framing is told apart by the first bytes, so a topic may carry a mix. With a
    schema book, the first message written with each schema publishes it, and a fingerprint
    the catalog lacks is looked up there.
    """

    def __init__(
        self,
        catalog: SchemaCatalog | None = None,
        registry: SchemaRegistry | None = None,
        book: SchemaBook | None = None,
    ) -> None:
        self.catalog = catalog or default_catalog()
        self.registry = registry
        self.book = book
        self._published: set[bytes] = set()
        self._registry_writers: dict[int, tuple[str, dict[str, Any]]] = {}

    def encode(self, schema: str, record: Mapping[str, Any]) -> bytes:
        version = self.catalog.current(schema)
        buf = io.BytesIO()
        try:
            schemaless_writer(buf, version.parsed, record)
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
            raise EncodeError(f"{version.short_name} does not fit its schema: {exc}") from exc
        if self.registry is not None:
            schema_id = self.registry.id_for(version.name, json.dumps(version.definition))
            return frame_confluent(schema_id, buf.getvalue())
        self._announce(version)
        return frame_single_object(version.fingerprint, buf.getvalue())

    def announce(self, *schemas: str) -> None:
        """Publish these schemas now, not with their first message, which would wait for it
        (0.5 s measured: a new producer's first delivery). A request's SLA runs from its
        creation, so a client does this as it connects, and a service before it takes over
        from the one it replaces."""
        if self.registry is None:
            for schema in schemas:
                self._announce(self.catalog.current(schema))

    def _announce(self, version: SchemaVersion) -> None:
        if self.book is not None and version.fingerprint not in self._published:
            self._published.add(version.fingerprint)
            self.book.publish(version.fingerprint, version.definition)

    def decode(
        self,
        schema: str,
        data: bytes | None,
        content_type: str | None = None,
        origin: Origin | None = None,
    ) -> Datum:
        """The record, resolved to the current schema; DecodeError with the reason otherwise.
        `origin` (the consumed message) is where JSON requests' missing fields come from,
        and whether a request is replayed (see `rdv.codec.replay`)."""
        reader = self.catalog.current(schema)
        if origin is None or reader.short_name != "Request":
            return self._decode(reader, data, content_type, origin)
        run = replay_run(origin)
        try:
            record = self._decode(reader, data, content_type, origin)
        except DecodeError as exc:
            if run is not None and exc.request_id is not None:
                exc.request_id = replayed_id(exc.request_id, run)
            raise
        return record if run is None else as_replayed(record, run, origin.timestamp_ms)

    def _decode(
        self,
        reader: SchemaVersion,
        data: bytes | None,
        content_type: str | None,
        origin: Origin | None,
    ) -> Datum:
        if not data:
            raise DecodeError(f"empty message where a {reader.short_name} was expected")
        if (content_type or "").startswith(JSON_CONTENT_TYPE) or data[:1] == b"{":
            return self._decode_json(reader, data, origin)
        if data.startswith(SINGLE_OBJECT_MARKER):
            fingerprint, body = split_single_object(data)
            writer = self.catalog.by_fingerprint(fingerprint) or self._learn(fingerprint)
            if writer is None:
                raise DecodeError(
                    f"unknown schema fingerprint {fingerprint.hex()}: written with a schema this "
                    "reader does not have in schemas/ or schemas/history/, nor on the schemas "
                    "topic"
                )
            self._check_same_record(writer.name, reader)
            return self._read(body, writer.parsed, reader)
        if data[0] == CONFLUENT_MAGIC:
            return self._decode_registry(reader, data)
        raise DecodeError(
            f"unrecognised framing (first bytes {data[:4].hex()}): expected Avro single-object "
            "(c301), Confluent (00) or JSON"
        )

    def _learn(self, fingerprint: bytes) -> SchemaVersion | None:
        """The writer's schema from the schema book, checked against its fingerprint (a
        schema under another's fingerprint would misread every message)."""
        definition = self.book.lookup(fingerprint) if self.book is not None else None
        if definition is None:
            return None
        try:
            version = self.catalog.learn(definition, f"schemas topic, {fingerprint.hex()}")
        except ConfigError:
            return None
        return version if version.fingerprint == fingerprint else None

    def _decode_registry(self, reader: SchemaVersion, data: bytes) -> Datum:
        schema_id, body = split_confluent(data)
        if self.registry is None:
            raise DecodeError(
                f"message uses schema-registry framing (schema id {schema_id}) but no registry "
                "is configured: set RDV_SCHEMA_REGISTRY_URL"
            )
        if schema_id not in self._registry_writers:
            text = self.registry.schema_for(schema_id)
            try:
                raw = json.loads(text)
                parsed = cast(dict[str, Any], parse_schema(drop_logical_types(raw), {}))
            except Exception as exc:  # whatever the registry holds may not be valid Avro
                raise DecodeError(f"schema id {schema_id} is not a usable Avro schema") from exc
            self._registry_writers[schema_id] = (str(parsed.get("name", "")), parsed)
        name, parsed = self._registry_writers[schema_id]
        self._check_same_record(name, reader)
        return self._read(body, parsed, reader)

    @staticmethod
    def _check_same_record(writer_name: str, reader: SchemaVersion) -> None:
        if writer_name != reader.name:
            raise DecodeError(f"expected a {reader.short_name} but the message is a {writer_name}")

    @staticmethod
    def _read(body: memoryview, writer: dict[str, Any], reader: SchemaVersion) -> Datum:
        stream = io.BytesIO(body)
        same = writer is reader.parsed
        try:
            record = schemaless_reader(stream, writer, None if same else reader.parsed)
        except SchemaResolutionError as exc:
            raise DecodeError(
                f"written with a {reader.short_name} schema this reader cannot resolve "
                f"(fields that differ: {', '.join(_differing_fields(writer, reader.parsed))}): "
                f"{exc}",
                _own_request_id(body, writer),
            ) from exc
        except Exception as exc:  # fastavro raises EOFError, struct.error, UnicodeDecodeError ...
            raise DecodeError(
                f"corrupt Avro body for {reader.short_name}: {type(exc).__name__}: {exc}"
            ) from exc
        if stream.tell() != len(body):
            raise DecodeError(
                f"corrupt Avro body for {reader.short_name}: "
                f"{len(body) - stream.tell()} trailing bytes"
            )
        if not isinstance(record, dict):
            raise DecodeError(f"expected a {reader.short_name} record")
        return record

    @staticmethod
    def _decode_json(reader: SchemaVersion, data: bytes, origin: Origin | None) -> Datum:
        try:
            raw = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DecodeError(f"invalid JSON {reader.short_name}: {exc}") from exc
        if not isinstance(raw, dict):
            raise DecodeError(f"JSON {reader.short_name} must be an object")
        record = complete_json_record(reader.short_name, raw, origin)
        try:
            validate(record, reader.parsed, raise_errors=True)
        except ValidationError as exc:
            problems = "; ".join(str(e) for e in getattr(exc, "errors", None) or [exc])
            raise DecodeError(
                f"JSON {reader.short_name} does not fit the schema: {problems}"
            ) from exc
        return record


def _differing_fields(writer: dict[str, Any], reader: dict[str, Any]) -> list[str]:
    """Top-level fields whose types differ, or that the reader needs and the writer lacks."""
    theirs = {f["name"]: f for f in writer.get("fields", [])}
    differ = []
    for field in reader.get("fields", []):
        other = theirs.get(field["name"])
        if other is None:
            if "default" not in field:
                differ.append(field["name"])
        elif json.dumps(other["type"], sort_keys=True) != json.dumps(field["type"], sort_keys=True):
            differ.append(field["name"])
    return differ or ["a nested type"]


def _own_request_id(body: memoryview, writer: dict[str, Any]) -> str | None:
    """The request id as its writer wrote it, read with the writer's schema alone."""
    try:
        record = schemaless_reader(io.BytesIO(body), writer, None)
    except Exception:  # unreadable even so: the position names the request instead
        return None
    value = record.get("request_id") if isinstance(record, dict) else None
    return value if isinstance(value, str) and value else None
