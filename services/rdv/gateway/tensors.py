"""Open Inference Protocol V2 tensors: an infer call's inputs as rows of features, and the
answers as output tensors, in JSON or with the binary tensor data extension (what
tritonclient sends and asks for by default).

Each input is one feature, one value per row: shape [n] or [n, 1]. Numbers become numeric
features (NaN, or null in JSON, a missing one), BYTES categorical ones (null a missing one).
An input named `key` is not a feature: it keys each row's request (the entity it is about),
as a Kafka key does.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

KEY_INPUT = "key"
# The outputs every answer gives (probabilities come too when every row has as many): the
# Answer fields of the same names. The model metadata lists them from here.
ANSWER_OUTPUTS = (
    ("score", "FP64"),
    ("label", "BYTES"),
    ("model", "BYTES"),
    ("role", "BYTES"),
    ("reason", "BYTES"),
    ("request_id", "BYTES"),
)
DTYPES: dict[str, str] = {
    "BOOL": "?",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}


class ProtocolError(Exception):
    """A call the protocol cannot serve: the status and a one-line reason for the caller."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class WantedOutput:
    name: str
    binary: bool


@dataclass
class InferCall:
    id: str | None
    rows: list[dict[str, Any]]
    keys: list[str | None]
    parameters: dict[str, Any] = field(default_factory=dict)
    outputs: list[WantedOutput] | None = None  # None: every output
    binary_default: bool = False


def feature_inputs(features: dict[str, Any]) -> list[dict[str, Any]]:
    """One row of flat features as infer call inputs, as a JSON client writes them."""
    return [
        {
            "name": name,
            "shape": [1],
            "datatype": "BYTES" if isinstance(value, str) else "FP64",
            "data": [value],
        }
        for name, value in features.items()
    ]


def _flat(data: Any) -> list[Any]:
    if isinstance(data, list):
        return [v for item in data for v in _flat(item)]
    return [data]


def _bytes_elements(buffer: bytes, name: str) -> list[bytes]:
    """BYTES in binary: each element a 4-byte little-endian length, then the bytes."""
    out, at = [], 0
    while at < len(buffer):
        if at + 4 > len(buffer):
            raise ProtocolError(f"input {name!r}: BYTES data cut short")
        (size,) = struct.unpack_from("<I", buffer, at)
        at += 4
        if at + size > len(buffer):
            raise ProtocolError(f"input {name!r}: BYTES element longer than its data")
        out.append(buffer[at : at + size])
        at += size
    return out


def _values(spec: dict[str, Any], binary: memoryview | None) -> list[Any]:
    name, datatype = spec["name"], spec["datatype"]
    if binary is not None:
        if datatype == "BYTES":
            return [b.decode() for b in _bytes_elements(bytes(binary), name)]
        if datatype not in DTYPES:
            raise ProtocolError(f"input {name!r}: unknown datatype {datatype!r}")
        try:
            return list(np.frombuffer(binary, dtype=DTYPES[datatype]).tolist())
        except ValueError as exc:
            raise ProtocolError(f"input {name!r}: {exc}") from exc
    if "data" not in spec:
        raise ProtocolError(f"input {name!r} has neither data nor binary_data_size")
    values = _flat(spec["data"])
    if datatype != "BYTES" and datatype not in DTYPES:
        raise ProtocolError(f"input {name!r}: unknown datatype {datatype!r}")
    for value in values:
        wanted = str if datatype == "BYTES" else (int, float, bool)
        # JSON has no NaN: null is how a JSON caller leaves a number out.
        if value is not None and not isinstance(value, wanted):
            raise ProtocolError(f"input {name!r}: {value!r} is not {datatype}")
    return values


def _feature(value: Any, datatype: str) -> Any:
    if datatype == "BYTES" or value is None:
        return value
    number = float(value)
    return None if math.isnan(number) else number


def parse_infer(body: bytes, header_length: int | None) -> InferCall:
    """The call from its body; ProtocolError with the reason when it is not one."""
    head = body[:header_length] if header_length is not None else body
    try:
        request = json.loads(head)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"the inference request is not valid JSON: {exc}") from exc
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
        raise ProtocolError("the inference request needs an 'inputs' list")
    binary = memoryview(body)[header_length:] if header_length is not None else memoryview(b"")
    at, rows_count = 0, None
    columns: dict[str, tuple[str, list[Any]]] = {}
    for spec in request["inputs"]:
        if not isinstance(spec, dict) or not {"name", "shape", "datatype"} <= set(spec):
            raise ProtocolError("each input needs a name, a shape and a datatype")
        name, shape = str(spec["name"]), spec["shape"]
        if not isinstance(shape, list) or not 1 <= len(shape) <= 2 or shape[1:] not in ([], [1]):
            raise ProtocolError(f"input {name!r}: shape must be [n] or [n, 1], not {shape}")
        size = (spec.get("parameters") or {}).get("binary_data_size")
        chunk = None
        if size is not None:
            if at + int(size) > len(binary):
                raise ProtocolError(f"input {name!r}: binary data shorter than its size")
            chunk, at = binary[at : at + int(size)], at + int(size)
        values = _values(spec, chunk)
        if len(values) != shape[0]:
            raise ProtocolError(f"input {name!r}: {len(values)} values for shape {shape}")
        if rows_count not in (None, shape[0]):
            raise ProtocolError("inputs disagree on the number of rows")
        rows_count = shape[0]
        columns[name] = (str(spec["datatype"]), values)
    count = rows_count or 0
    if count == 0:
        raise ProtocolError("the inference request has no rows")
    keys: list[str | None] = [None] * count
    if KEY_INPUT in columns:
        keys = [str(v) for v in columns.pop(KEY_INPUT)[1]]
    rows = [
        {name: _feature(values[i], datatype) for name, (datatype, values) in columns.items()}
        for i in range(count)
    ]
    parameters = request.get("parameters") or {}
    wanted = None
    if request.get("outputs"):
        wanted = [
            WantedOutput(str(o.get("name")), bool((o.get("parameters") or {}).get("binary_data")))
            for o in request["outputs"]
        ]
    return InferCall(
        id=request.get("id"),
        rows=rows,
        keys=keys,
        parameters=parameters if isinstance(parameters, dict) else {},
        outputs=wanted,
        binary_default=bool(parameters.get("binary_data_output")) if wanted is None else False,
    )


def _tensor(name: str, datatype: str, values: list[Any], width: int | None = None) -> Any:
    n = len(values)
    return name, datatype, [n, width] if width else [n], values


def answer_tensors(answers: list[dict[str, Any]]) -> list[tuple[str, str, list[int], list[Any]]]:
    """The outputs of a call: score, label, the answering model, its role, the reason and the
    request id per row; probabilities when every row has as many."""

    def text(field_name: str) -> list[str]:
        return [str(a.get(field_name) or "") for a in answers]

    scores = [math.nan if a.get("score") is None else float(a["score"]) for a in answers]
    tensors = [
        _tensor(name, datatype, scores if name == "score" else text(name))
        for name, datatype in ANSWER_OUTPUTS
    ]
    widths = {len(a.get("probabilities") or ()) for a in answers}
    if len(widths) == 1 and (width := widths.pop()) > 0:
        flat = [float(p) for a in answers for p in a["probabilities"]]
        tensors.append(("probabilities", "FP64", [len(answers), width], flat))
    return tensors


def _binary(datatype: str, values: list[Any]) -> bytes:
    if datatype == "BYTES":
        parts = []
        for value in values:
            data = str(value).encode()
            parts.append(struct.pack("<I", len(data)) + data)
        return b"".join(parts)
    return np.asarray(values, dtype=DTYPES[datatype]).tobytes()


def encode_response(
    call: InferCall, model_name: str, answers: list[dict[str, Any]]
) -> tuple[bytes, int | None]:
    """The response body, and the JSON header's length when binary data follows it."""
    tensors = answer_tensors(answers)
    wanted = {o.name: o for o in call.outputs} if call.outputs is not None else None
    if wanted is not None:
        unknown = sorted(set(wanted) - {t[0] for t in tensors})
        if unknown:
            raise ProtocolError(
                f"unknown outputs {unknown}: this model gives {[t[0] for t in tensors]}"
            )
    outputs, blobs = [], []
    for name, datatype, shape, values in tensors:
        if wanted is not None and name not in wanted:
            continue
        binary = wanted[name].binary if wanted is not None else call.binary_default
        output: dict[str, Any] = {"name": name, "datatype": datatype, "shape": shape}
        if binary:
            blob = _binary(datatype, values)
            output["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            output["data"] = [None if isinstance(v, float) and math.isnan(v) else v for v in values]
        outputs.append(output)
    joined = {
        field_name: ",".join(str(a.get(field_name) or "") for a in answers)
        for field_name in ("model", "role", "reason", "request_id")
    }
    response = {
        "model_name": model_name,
        "model_version": "",
        "id": call.id or joined["request_id"],
        "parameters": joined,
        "outputs": outputs,
    }
    head = json.dumps(response).encode()
    if not blobs:
        return head, None
    return head + b"".join(blobs), len(head)
