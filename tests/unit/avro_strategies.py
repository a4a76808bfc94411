"""Hypothesis strategies that draw valid records for any Avro schema of the catalog."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

_text = st.text(max_size=12)
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


def records(schema: Any) -> st.SearchStrategy[Any]:
    """Values of `schema` (a parsed fastavro schema, logical types dropped). Doubles are
    finite so that == compares round trips; NaN and infinities have a test of their own."""
    if isinstance(schema, list):
        return st.one_of(*[records(branch) for branch in schema])
    if isinstance(schema, str):
        return _primitive(schema)
    kind = schema["type"]
    if isinstance(kind, (dict, list)):
        return records(kind)
    if kind == "record":
        return st.fixed_dictionaries({f["name"]: records(f["type"]) for f in schema["fields"]})
    if kind == "array":
        return st.lists(records(schema["items"]), max_size=4)
    if kind == "map":
        return st.dictionaries(_text, records(schema["values"]), max_size=4)
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    return _primitive(kind)


def _primitive(kind: str) -> st.SearchStrategy[Any]:
    return {
        "null": st.none(),
        "boolean": st.booleans(),
        "int": st.integers(*_INT32),
        "long": st.integers(*_INT64),
        "float": st.floats(width=32, allow_nan=False, allow_infinity=False),
        "double": st.floats(allow_nan=False, allow_infinity=False),
        "bytes": st.binary(max_size=24),
        "string": _text,
    }[kind]
