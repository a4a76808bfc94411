"""A schema registry reached through confluent-kafka's client (Confluent, Karapace, Apicurio)."""

from __future__ import annotations

from typing import Any

from rdv.errors import ConfigError, DecodeError


class ConfluentSchemaRegistry:
    """Registers our schemas under their record name (RecordNameStrategy: one subject per
    schema, whatever topic it travels on) and fetches writer schemas by id, caching both so
    the registry is asked once per schema, not once per message."""

    def __init__(self, url: str, extra: dict[str, Any] | None = None) -> None:
        try:
            from confluent_kafka.schema_registry import SchemaRegistryClient
        except ImportError as exc:  # the extra is optional: most users need no registry
            raise ConfigError(
                "a schema registry URL is set but its client is missing: "
                "pip install 'rendezvous-serving[registry]'"
            ) from exc
        self._client = SchemaRegistryClient({"url": url, **(extra or {})})
        self._ids: dict[tuple[str, str], int] = {}
        self._schemas: dict[int, str] = {}

    def id_for(self, subject: str, schema_json: str) -> int:
        key = (subject, schema_json)
        if key not in self._ids:
            from confluent_kafka.schema_registry import Schema
            from confluent_kafka.schema_registry.error import SchemaRegistryError

            schema = Schema(schema_str=schema_json, schema_type="AVRO")
            try:
                self._ids[key] = int(self._client.register_schema(subject, schema))
            except SchemaRegistryError as exc:
                # Services starting together race to register a new subject; Apicurio answers
                # all but the first with 409 "already exists". The schema is there: look it up.
                if getattr(exc, "http_status_code", None) != 409:
                    raise
                found = self._client.lookup_schema(subject, schema).schema_id
                if found is None:
                    raise
                self._ids[key] = int(found)
        return self._ids[key]

    def schema_for(self, schema_id: int) -> str:
        if schema_id not in self._schemas:
            try:
                self._schemas[schema_id] = str(self._client.get_schema(schema_id).schema_str)
            except Exception as exc:  # the client raises its own error types and httpx's
                reason = f"schema id {schema_id} is unknown to the registry: {exc}"
                raise DecodeError(reason) from exc
        return self._schemas[schema_id]
