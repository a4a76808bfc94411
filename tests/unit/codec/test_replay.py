"""What every reader derives from a replayed request's marker header."""

from __future__ import annotations

from rdv.codec import Codec
from rdv.codec.replay import REPLAY
from rdv.kafka import Message
from rdv.protocol import new_request


def read(value: bytes, headers: tuple[tuple[str, bytes], ...], stamp: int) -> dict:
    msg = Message("requests", 1, 7, b"k", value, headers, stamp)
    return Codec().decode("Request", value, msg.content_type, msg)


def test_a_replayed_request_is_a_new_request_with_no_client_and_a_fresh_sla() -> None:
    request = new_request({"x": 1.0}, request_id="r1", deadline_ms=50, reply_to="inbox")
    value = Codec().encode("Request", request)
    replayed_at = request["created_at"] + 86_400_000  # a day later
    got = read(value, ((REPLAY, b"t1"),), replayed_at)
    assert got["request_id"] == "r1@replay:t1"
    assert got["reply_to"] is None
    assert got["created_at"] == replayed_at
    assert got["deadline"] == replayed_at + 50
    assert got["key"] == request["key"] and got["features"] == request["features"]
    assert read(value, (), replayed_at) == request  # unmarked: as it was


def test_a_replayed_json_request_without_an_id_is_named_by_its_new_position() -> None:
    got = read(b'{"features": {"x": 1}}', ((REPLAY, b"t2"),), 1_000)
    assert got["request_id"] == "requests:1:7@replay:t2"
