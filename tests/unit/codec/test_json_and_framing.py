import json

import pytest

from rdv.codec import Codec
from rdv.codec.framing import frame_confluent, split_confluent
from rdv.errors import DecodeError
from rdv.kafka import Message

CODEC = Codec()


def test_json_request_with_flat_features_gets_ids_and_types() -> None:
    record = CODEC.decode(
        "Request", b'{"key": "u1", "features": {"age": 31, "country": "fr"}}', "application/json"
    )
    assert record["key"] == "u1" and record["request_id"]
    assert record["created_at"] > 1_600_000_000_000
    assert record["features"] == {"numeric": {"age": 31.0}, "categorical": {"country": "fr"}}


def test_json_request_read_from_kafka_is_named_by_its_position_and_stamped_by_kafka() -> None:
    body = b'{"features": {"age": 31}}'
    msg = Message("requests", 2, 41, b"user-7", body, timestamp_ms=1_700_000_000_123)
    first = CODEC.decode("Request", body, None, msg)
    # A second service reading the same message later derives the same fields.
    again = Codec().decode("Request", body, None, msg)
    assert first == again
    assert first["request_id"] == "requests:2:41"
    assert first["key"] == "user-7"
    assert first["created_at"] == 1_700_000_000_123


def test_json_request_without_kafka_key_is_keyed_by_its_derived_id() -> None:
    body = b'{"features": {}}'
    record = CODEC.decode("Request", body, None, Message("requests", 0, 5, None, body))
    assert record["key"] == record["request_id"] == "requests:0:5"
    assert record["created_at"] > 1_600_000_000_000  # no Kafka timestamp: read time


def test_json_request_keeps_the_fields_its_producer_gave() -> None:
    body = b'{"request_id": "r1", "key": "k", "created_at": 7, "features": {}}'
    msg = Message("requests", 0, 5, b"other", body, timestamp_ms=99)
    record = CODEC.decode("Request", body, None, msg)
    assert (record["request_id"], record["key"], record["created_at"]) == ("r1", "k", 7)


def test_json_request_with_structured_features_and_no_header() -> None:
    text = {"request_id": "r9", "features": {"numeric": {"a": None}, "categorical": {"b": "x"}}}
    record = CODEC.decode("Request", json.dumps(text).encode())
    assert record["key"] == "r9"
    assert record["features"] == {"numeric": {"a": None}, "categorical": {"b": "x"}}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"features": {"age": true}}', "numeric feature 'age' must be a number"),
        (b'{"features": {"numeric": {"a": "x"}}}', "numeric feature 'a'"),
        (b'{"features": [1, 2]}', "features must be an object"),
        (b"[1, 2]", "must be an object"),
        (b'{"features": {}, "created_at": "yesterday"}', "does not fit the schema"),
        (b"{not json", "invalid JSON Request"),
    ],
)
def test_bad_json_is_a_decode_error_with_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        CODEC.decode("Request", body, "application/json")


class InMemoryRegistry:
    """The registry protocol over a dict: enough to check the wire layout of the framing."""

    def __init__(self) -> None:
        self.schemas: dict[int, str] = {}

    def id_for(self, subject: str, schema_json: str) -> int:
        for schema_id, text in self.schemas.items():
            if text == schema_json:
                return schema_id
        schema_id = 100 + len(self.schemas)
        self.schemas[schema_id] = schema_json
        return schema_id

    def schema_for(self, schema_id: int) -> str:
        if schema_id not in self.schemas:
            raise DecodeError(f"schema id {schema_id} is unknown to the registry")
        return self.schemas[schema_id]


def test_confluent_framing_round_trip_and_layout() -> None:
    codec = Codec(registry=InMemoryRegistry())
    record = {
        "request_id": "r",
        "key": "k",
        "label": "bot",
        "value": None,
        "reward": 1.0,
        "created_at": 7,
        "source": None,
    }
    data = codec.encode("Feedback", record)
    assert data[0] == 0 and int.from_bytes(data[1:5], "big") == 100
    assert split_confluent(data)[0] == 100
    assert codec.decode("Feedback", data) == record
    # A reader with a registry still reads single-object encoded messages.
    assert codec.decode("Feedback", CODEC.encode("Feedback", record)) == record


def test_registry_framing_without_a_registry_says_how_to_configure_one() -> None:
    with pytest.raises(DecodeError, match="RDV_SCHEMA_REGISTRY_URL"):
        CODEC.decode("Request", frame_confluent(1, b"\x00"))


def test_unknown_registry_id_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="unknown to the registry"):
        Codec(registry=InMemoryRegistry()).decode("Request", frame_confluent(42, b"\x00"))


def test_a_schema_mismatch_in_json_is_one_line_naming_the_field() -> None:
    with pytest.raises(DecodeError) as error:
        CODEC.decode("Request", b'{"key": 42, "features": {}}', "application/json")
    assert "\n" not in error.value.reason
    assert "key" in error.value.reason and "expected string" in error.value.reason
