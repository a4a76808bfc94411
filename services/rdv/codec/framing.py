"""Wire framings of an Avro body: single-object encoding and Confluent's registry framing."""

from __future__ import annotations

import struct
from typing import Protocol

from rdv.errors import DecodeError

SINGLE_OBJECT_MARKER = b"\xc3\x01"
CONFLUENT_MAGIC = 0
_SOE_HEADER = len(SINGLE_OBJECT_MARKER) + 8
_CONFLUENT_HEADER = struct.Struct(">bI")


def frame_single_object(fingerprint: bytes, body: bytes) -> bytes:
    return SINGLE_OBJECT_MARKER + fingerprint + body


def split_single_object(data: bytes) -> tuple[bytes, memoryview]:
    """(fingerprint, body) of a single-object encoded message."""
    if len(data) < _SOE_HEADER or not data.startswith(SINGLE_OBJECT_MARKER):
        raise DecodeError(f"not Avro single-object encoding ({len(data)} bytes, bad header)")
    view = memoryview(data)
    return bytes(view[2:_SOE_HEADER]), view[_SOE_HEADER:]


def frame_confluent(schema_id: int, body: bytes) -> bytes:
    return _CONFLUENT_HEADER.pack(CONFLUENT_MAGIC, schema_id) + body


def split_confluent(data: bytes) -> tuple[int, memoryview]:
    """(schema id, body) of a Confluent-framed message."""
    if len(data) < _CONFLUENT_HEADER.size or data[0] != CONFLUENT_MAGIC:
        raise DecodeError(f"not Confluent schema-registry framing ({len(data)} bytes)")
    _, schema_id = _CONFLUENT_HEADER.unpack_from(data)
    return schema_id, memoryview(data)[_CONFLUENT_HEADER.size :]


class SchemaRegistry(Protocol):
    """What the codec needs of a schema registry: ids for our schemas and schemas for ids."""

    def id_for(self, subject: str, schema_json: str) -> int: ...

    def schema_for(self, schema_id: int) -> str: ...
