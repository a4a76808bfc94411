import json
import shutil
from pathlib import Path

import pytest

from rdv.codec import SchemaCatalog, default_catalog
from rdv.errors import ConfigError

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"


def test_catalog_holds_every_message_of_the_architecture() -> None:
    names = {v.short_name for v in default_catalog().versions()}
    assert names >= {
        "Request",
        "Score",
        "Answer",
        "Record",
        "RolloutConfig",
        "Feedback",
        "DeadLetter",
    }


def test_fingerprint_matches_the_avro_specification() -> None:
    # The spec's CRC-64-AVRO of the schema "int" is 0x7275d51a3f395c8f (Java's
    # SchemaNormalization.parsingFingerprint64); single-object encoding writes it little-endian.
    from fastavro.schema import fingerprint

    assert bytes.fromhex(fingerprint('"int"', "CRC-64-AVRO")) == (0x7275D51A3F395C8F).to_bytes(
        8, "little"
    )


def test_references_to_other_files_are_inlined_in_the_canonical_form() -> None:
    record = default_catalog().current("Record")
    # Java and every other Avro library fingerprint the canonical form with the referenced
    # Answer spelled out; a bare name would give a fingerprint no other reader can find.
    assert '{"name":"io.rendezvous.Answer","type":"record"' in record.canonical


def test_history_versions_must_belong_to_a_current_schema(tmp_path: Path) -> None:
    shutil.copytree(SCHEMAS, tmp_path / "schemas")
    orphan = {
        "type": "record",
        "name": "Gone",
        "namespace": "io.rendezvous",
        "fields": [{"name": "a", "type": "int", "doc": "a"}],
    }
    (tmp_path / "schemas" / "history" / "gone.v1.avsc").write_text(json.dumps(orphan))
    with pytest.raises(ConfigError, match="no longer exists"):
        SchemaCatalog(tmp_path / "schemas")


def test_a_broken_schema_file_is_named_in_the_error(tmp_path: Path) -> None:
    (tmp_path / "bad.avsc").write_text("{not json")
    with pytest.raises(ConfigError, match=r"bad\.avsc"):
        SchemaCatalog(tmp_path)
