"""Bytes from anywhere: the codec answers with DecodeError and a reason, or a valid record."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdv.codec import Codec
from rdv.errors import DecodeError
from rdv.protocol import new_request

CODEC = Codec()
VALID = CODEC.encode("Request", new_request({"x": 1.0, "y": None}, {"c": "a"}, key="k"))


def _decode_or_reason(data: bytes) -> None:
    try:
        record = CODEC.decode("Request", data)
    except DecodeError as exc:
        assert exc.reason and "\n" not in exc.reason
        return
    assert set(record) == {"request_id", "key", "created_at", "deadline", "reply_to", "features"}


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes(data: bytes) -> None:
    _decode_or_reason(data)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=120))
def test_random_bodies_behind_a_valid_header(body: bytes) -> None:
    _decode_or_reason(VALID[:10] + body)


@settings(max_examples=400, deadline=None)
@given(st.integers(0, len(VALID) - 1), st.integers(0, 255))
def test_single_byte_mutations_of_a_valid_request(position: int, value: int) -> None:
    mutated = bytearray(VALID)
    mutated[position] = value
    _decode_or_reason(bytes(mutated))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(VALID) - 1))
def test_truncated_requests(length: int) -> None:
    with pytest.raises(DecodeError):
        CODEC.decode("Request", VALID[:length])


@pytest.mark.parametrize("data", [b"", None, b"\xc3", b"\xc3\x01\x00", b"\x00\x00"])
def test_short_and_empty_messages(data: bytes | None) -> None:
    with pytest.raises(DecodeError):
        CODEC.decode("Request", data)
