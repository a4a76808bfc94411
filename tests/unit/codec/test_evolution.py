"""Old messages stay readable after a schema evolves: old writer, new reader."""

import copy
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastavro import schemaless_writer
from hypothesis import given, settings

from rdv.codec import Codec, SchemaCatalog, default_catalog
from rdv.codec.framing import frame_single_object
from rdv.errors import DecodeError
from tests.unit.avro_strategies import records

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"


def _older_request() -> dict[str, Any]:
    """Request as it might have been before deadline, reply_to and categorical features."""
    old = copy.deepcopy(json.loads((SCHEMAS / "request.avsc").read_text()))
    old["fields"] = [f for f in old["fields"] if f["name"] not in {"deadline", "reply_to"}]
    features = next(f for f in old["fields"] if f["name"] == "features")["type"]
    features["fields"] = [f for f in features["fields"] if f["name"] != "categorical"]
    return old


def _catalog_with(tmp: Path, request: dict[str, Any], history: dict[str, Any] | None) -> Path:
    folder = tmp / ("new" if history else "old")
    shutil.copytree(SCHEMAS, folder)
    (folder / "request.avsc").write_text(json.dumps(request))
    if history:
        (folder / "history" / "request.v0.avsc").write_text(json.dumps(history))
    return folder


@pytest.fixture
def old_and_new(tmp_path: Path) -> tuple[Codec, Codec]:
    old_schema = _older_request()
    current = json.loads((SCHEMAS / "request.avsc").read_text())
    old = Codec(SchemaCatalog(_catalog_with(tmp_path, old_schema, None)))
    new = Codec(SchemaCatalog(_catalog_with(tmp_path, current, old_schema)))
    return old, new


def test_old_writer_new_reader_fills_defaults(old_and_new: tuple[Codec, Codec]) -> None:
    old, new = old_and_new
    written = old.encode(
        "Request",
        {"request_id": "r1", "key": "k1", "created_at": 5, "features": {"numeric": {"x": 1.5}}},
    )
    assert new.decode("Request", written) == {
        "request_id": "r1",
        "key": "k1",
        "created_at": 5,
        "deadline": None,
        "reply_to": None,
        "features": {"numeric": {"x": 1.5}, "categorical": {}},
    }


def test_without_the_history_file_the_fingerprint_is_unknown(
    old_and_new: tuple[Codec, Codec],
) -> None:
    old, _ = old_and_new
    written = old.encode(
        "Request", {"request_id": "r", "key": "k", "created_at": 1, "features": {"numeric": {}}}
    )
    with pytest.raises(DecodeError, match="unknown schema fingerprint"):
        Codec().decode("Request", written)


@pytest.mark.parametrize("version", default_catalog().versions(), ids=lambda v: v.source.name)
def test_every_version_kept_in_history_resolves_to_the_current_schema(version: Any) -> None:
    codec = Codec(default_catalog())

    @settings(max_examples=20, deadline=None)
    @given(records(version.parsed))
    def readable(record: dict[str, Any]) -> None:
        buf = io.BytesIO()
        schemaless_writer(buf, version.parsed, record)
        codec.decode(version.name, frame_single_object(version.fingerprint, buf.getvalue()))

    readable()
