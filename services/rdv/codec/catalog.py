"""The schema catalog: every .avsc of schemas/ and schemas/history/, parsed once.

Readers look a writer schema up by its CRC-64-AVRO fingerprint (single-object encoding) and
resolve it to the current schema of the same name, so old messages stay readable after a schema
evolves. Logical types are dropped from the parsed schemas the codec uses: timestamps travel as
plain integers (epoch milli/microseconds), which is what every service computes with anyway and
saves a datetime round trip per field. The .avsc files keep them for Spark and Java readers.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

from fastavro.schema import fingerprint, parse_schema, to_parsing_canonical_form

from rdv.errors import ConfigError
from rdv.paths import schemas_dir

_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
_NAMED = {"record", "enum", "fixed"}


@dataclass(frozen=True)
class SchemaVersion:
    """One version of one schema, ready to read and write with."""

    name: str  # full name, e.g. io.rendezvous.Request
    source: Path
    definition: dict[str, Any]  # expanded JSON, logical types kept
    parsed: dict[str, Any]  # fastavro-parsed, logical types dropped
    canonical: str
    fingerprint: bytes  # 8 bytes, little-endian as single-object encoding writes it

    @property
    def short_name(self) -> str:
        return self.name.rsplit(".", 1)[-1]


def _full_name(schema: dict[str, Any], namespace: str | None) -> str:
    name = str(schema["name"])
    if "." in name:
        return name
    ns = schema.get("namespace", namespace)
    return f"{ns}.{name}" if ns else name


def _collect_named(schema: Any, namespace: str | None, into: dict[str, dict[str, Any]]) -> None:
    if isinstance(schema, list):
        for branch in schema:
            _collect_named(branch, namespace, into)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in _NAMED:
            full = _full_name(schema, namespace)
            into.setdefault(full, schema)
            namespace = full.rsplit(".", 1)[0] if "." in full else None
        for field in schema.get("fields", []):
            _collect_named(field["type"], namespace, into)
        for part in ("items", "values"):
            if part in schema:
                _collect_named(schema[part], namespace, into)
        if isinstance(kind, (dict, list)):
            _collect_named(kind, namespace, into)


def _expand(schema: Any, known: dict[str, dict[str, Any]], seen: set[str], ns: str | None) -> Any:
    """Inline references to types defined in other files (first use only, as the spec's
    canonical form does), so fingerprints match what Java and other Avro libraries compute."""
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return schema
        full = schema if "." in schema else f"{ns}.{schema}" if ns else schema
        if full in seen or full not in known:
            return schema
        return _expand(copy.deepcopy(known[full]), known, seen, ns)
    if isinstance(schema, list):
        return [_expand(branch, known, seen, ns) for branch in schema]
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    kind = schema.get("type")
    if kind in _NAMED:
        full = _full_name(schema, ns)
        seen.add(full)
        ns = full.rsplit(".", 1)[0] if "." in full else None
    if "fields" in schema:
        out["fields"] = [
            {**f, "type": _expand(f["type"], known, seen, ns)} for f in schema["fields"]
        ]
    for part in ("items", "values"):
        if part in schema:
            out[part] = _expand(schema[part], known, seen, ns)
    if isinstance(kind, (dict, list, str)) and kind not in _NAMED and kind not in {"array", "map"}:
        out["type"] = _expand(kind, known, seen, ns)
    return out


def drop_logical_types(schema: Any) -> Any:
    if isinstance(schema, list):
        return [drop_logical_types(s) for s in schema]
    if isinstance(schema, dict):
        return {k: drop_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    return schema


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"schema file {path} is not readable JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("type") != "record":
        raise ConfigError(f"schema file {path} must hold one Avro record schema")
    return data


class SchemaCatalog:
    """Current schemas by name and every known version by fingerprint."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        current_files = sorted(directory.glob("*.avsc"))
        if not current_files:
            raise ConfigError(
                f"no .avsc files in {directory}; set RDV_SCHEMAS_DIR to the schemas/ folder"
            )
        raw_current = [(p, _load_json(p)) for p in current_files]
        known: dict[str, dict[str, Any]] = {}
        for _, raw in raw_current:
            _collect_named(raw, None, known)
        self._current: dict[str, SchemaVersion] = {}
        self._by_short: dict[str, SchemaVersion] = {}
        self._by_fingerprint: dict[bytes, SchemaVersion] = {}
        for path, raw in raw_current:
            version = self._build(path, raw, known)
            self._current[version.name] = version
            # Looked up on every message by its short name: a scan cost 2 µs a lookup.
            self._by_short.setdefault(version.short_name, version)
            self._by_fingerprint[version.fingerprint] = version
        for path in sorted((directory / "history").glob("*.avsc")):
            version = self._build(path, _load_json(path), known)
            if version.name not in self._current:
                raise ConfigError(
                    f"{path} is an old version of {version.name}, which no longer "
                    "exists in schemas/; remove it or restore the schema"
                )
            self._by_fingerprint.setdefault(version.fingerprint, version)

    @staticmethod
    def _build(path: Path, raw: dict[str, Any], known: dict[str, dict[str, Any]]) -> SchemaVersion:
        expanded = _expand(raw, known, set(), raw.get("namespace"))
        try:
            parsed = cast(dict[str, Any], parse_schema(drop_logical_types(expanded), {}))
            canonical = to_parsing_canonical_form(parse_schema(expanded, named_schemas={}))
        except Exception as exc:  # fastavro raises several unrelated types for bad schemas
            raise ConfigError(f"schema file {path} is not a valid Avro schema: {exc}") from exc
        return SchemaVersion(
            name=_full_name(raw, None),
            source=path,
            definition=expanded,
            parsed=parsed,
            canonical=canonical,
            fingerprint=bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO")),
        )

    def names(self) -> list[str]:
        return sorted(self._current)

    def current(self, name: str) -> SchemaVersion:
        """The current schema by full name (io.rendezvous.Request) or short name (Request)."""
        version = self._current.get(name) or self._by_short.get(name)
        if version is not None:
            return version
        raise ConfigError(f"unknown schema {name!r}; known: {', '.join(self.names())}")

    def by_fingerprint(self, fp: bytes) -> SchemaVersion | None:
        return self._by_fingerprint.get(fp)

    def learn(self, definition: dict[str, Any], source: str) -> SchemaVersion:
        """A writer's schema met on the wire (a self-contained definition), readable from now
        on by its fingerprint; ConfigError if it is not valid Avro."""
        version = self._build(Path(source), definition, {})
        self._by_fingerprint.setdefault(version.fingerprint, version)
        return version

    def versions(self) -> list[SchemaVersion]:
        return list(self._by_fingerprint.values())


@cache
def default_catalog() -> SchemaCatalog:
    """The catalog of the project's schemas/, parsed once per process."""
    return SchemaCatalog(schemas_dir())
