"""Open Inference Protocol tensors, checked against tritonclient's own encoders and decoders."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from tritonclient import http
from tritonclient.http import InferResult

from rdv.gateway.tensors import ProtocolError, encode_response, parse_infer

ANSWER = {
    "request_id": "r1",
    "model": "login-bot@2",
    "role": "champion",
    "reason": "preferred",
    "score": 0.75,
    "label": "bot",
    "probabilities": [0.25, 0.75],
}


def triton_body(inputs: list[Any], outputs: list[Any] | None = None) -> tuple[bytes, int | None]:
    """The exact body tritonclient sends (its private helper: what goes on the wire)."""
    from tritonclient.http._utils import _get_inference_request

    return _get_inference_request(inputs, "", outputs, 0, False, False, 0, 5000, None)


def test_tritonclients_binary_inputs_become_rows() -> None:
    logins = http.InferInput("failed_logins", [2, 1], "FP32")
    logins.set_data_from_numpy(np.array([[3.0], [np.nan]], dtype=np.float32))
    country = http.InferInput("country", [2], "BYTES")
    country.set_data_from_numpy(np.array(["FR", "DÉ"], dtype=np.object_))
    key = http.InferInput("key", [2], "BYTES")
    key.set_data_from_numpy(np.array(["u1", "u2"], dtype=np.object_))
    body, length = triton_body([logins, country, key])
    call = parse_infer(body, length)
    assert call.rows == [
        {"failed_logins": 3.0, "country": "FR"},
        {"failed_logins": None, "country": "DÉ"},  # NaN: a missing feature
    ]
    assert call.keys == ["u1", "u2"]
    assert call.parameters["timeout"] == 5000 and call.binary_default  # tritonclient's default


def test_binary_outputs_read_back_with_tritonclient() -> None:
    logins = http.InferInput("failed_logins", [1], "FP64")
    logins.set_data_from_numpy(np.array([3.0]))
    body, length = triton_body([logins])
    payload, header = encode_response(parse_infer(body, length), "rendezvous", [ANSWER])
    assert header is not None
    result = InferResult.from_response_body(payload, header_length=header)
    assert result.as_numpy("score").tolist() == [0.75]
    assert result.as_numpy("label").tolist() == [b"bot"]
    assert result.as_numpy("probabilities").tolist() == [[0.25, 0.75]]
    assert result.get_response()["parameters"]["model"] == "login-bot@2"


def test_json_in_json_out_and_only_the_outputs_asked_for() -> None:
    request = {
        "id": "call-7",
        "inputs": [{"name": "a", "shape": [1, 1], "datatype": "INT64", "data": [[4]]}],
        "outputs": [{"name": "label"}, {"name": "score", "parameters": {"binary_data": False}}],
    }
    call = parse_infer(json.dumps(request).encode(), None)
    payload, header = encode_response(call, "rendezvous", [ANSWER])
    response = json.loads(payload)
    assert header is None and response["id"] == "call-7"
    assert [(o["name"], o["data"]) for o in response["outputs"]] == [
        ("score", [0.75]),
        ("label", ["bot"]),
    ]


def test_null_in_json_is_a_missing_feature() -> None:
    body = {
        "inputs": [
            {"name": "age", "shape": [2], "datatype": "FP64", "data": [None, 3]},
            {"name": "country", "shape": [2], "datatype": "BYTES", "data": ["FR", None]},
        ]
    }
    call = parse_infer(json.dumps(body).encode(), None)
    assert call.rows == [{"age": None, "country": "FR"}, {"age": 3.0, "country": None}]


def test_a_missing_score_is_null_in_json() -> None:
    call = parse_infer(
        b'{"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [1]}]}', None
    )
    default = {**ANSWER, "score": None, "label": None, "model": None, "probabilities": None}
    response = json.loads(encode_response(call, "m", [default])[0])
    outputs = {o["name"]: o["data"] for o in response["outputs"]}
    assert outputs["score"] == [None] and outputs["model"] == [""]
    assert "probabilities" not in outputs


@pytest.mark.parametrize(
    ("body", "header", "reason"),
    [
        (
            b'{"inputs": [{"name": "a", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]}',
            None,
            "[n] or [n, 1]",
        ),
        (
            b'{"inputs": [{"name": "a", "shape": [1], "datatype": "FP8", "data": [1]}]}',
            None,
            "unknown datatype",
        ),
        (
            b'{"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": ["x"]}]}',
            None,
            "'x' is not FP32",
        ),
        (
            b'{"inputs": [{"name": "a", "shape": [1], "datatype": "BYTES", "data": [3]}]}',
            None,
            "3 is not BYTES",
        ),
        (
            b'{"inputs": [{"name": "a", "shape": [1], "datatype": "FP32", "data": [1]},'
            b' {"name": "b", "shape": [2], "datatype": "FP32", "data": [1, 2]}]}',
            None,
            "disagree on the number of rows",
        ),
        (
            b'{"inputs": [{"name": "a", "shape": [1], "datatype": "FP32",'
            b' "parameters": {"binary_data_size": 8}}]}',
            None,
            "shorter than its size",
        ),
        (
            b'{"inputs": [{"name": "a", "shape": [0], "datatype": "FP32", "data": []}]}',
            None,
            "no rows",
        ),
    ],
)
def test_bad_tensors_are_one_line_errors(body: bytes, header: int | None, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        parse_infer(body + b"\x00\x00" if header else body, header)


def test_cut_short_binary_bytes_are_refused() -> None:
    head = json.dumps(
        {
            "inputs": [
                {"name": "c", "shape": [1], "datatype": "BYTES"}
                | {"parameters": {"binary_data_size": 6}}
            ]
        }
    ).encode()
    body = head + b"\x09\x00\x00\x00FR"  # says 9 bytes, has 2
    with pytest.raises(ProtocolError, match="longer than its data"):
        parse_infer(body, len(head))
