import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdv.codec import Codec, default_catalog
from rdv.codec.framing import SINGLE_OBJECT_MARKER
from rdv.protocol import new_request
from tests.unit.avro_strategies import records

CODEC = Codec()
NAMES = [v.short_name for v in default_catalog().versions()]


@pytest.mark.parametrize("name", NAMES)
def test_every_schema_round_trips(name: str) -> None:
    version = default_catalog().current(name)

    @settings(max_examples=60, deadline=None)
    @given(records(version.parsed))
    def round_trip(record: dict[str, object]) -> None:
        data = CODEC.encode(name, record)
        assert data.startswith(SINGLE_OBJECT_MARKER)
        assert data[2:10] == version.fingerprint
        assert CODEC.decode(name, data) == record

    round_trip()


def test_every_field_of_every_schema_is_documented() -> None:
    def undocumented(schema: object, path: str) -> list[str]:
        missing: list[str] = []
        if isinstance(schema, list):
            for branch in schema:
                missing += undocumented(branch, path)
        elif isinstance(schema, dict):
            for field in schema.get("fields", []):
                where = f"{path}.{field['name']}"
                if not field.get("doc"):
                    missing.append(where)
                missing += undocumented(field["type"], where)
            for part in ("items", "values"):
                if part in schema:
                    missing += undocumented(schema[part], path)
        return missing

    for version in default_catalog().versions():
        assert undocumented(version.definition, version.short_name) == []


def test_nan_and_infinite_features_survive() -> None:
    request = new_request({"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "gone": None})
    numeric = CODEC.decode("Request", CODEC.encode("Request", request))["features"]["numeric"]
    assert math.isnan(numeric["nan"])
    assert numeric["inf"] == math.inf and numeric["ninf"] == -math.inf
    assert numeric["gone"] is None


@given(st.integers(min_value=0, max_value=2**31 - 1))
def test_decode_never_confuses_record_types(offset: int) -> None:
    score_like = CODEC.encode("Feedback", {"request_id": "r", "key": "k", "created_at": offset})
    with pytest.raises(Exception, match="expected a Request but the message is a"):
        CODEC.decode("Request", score_like)
