"""A benchmark's client and its stack's services look for schemas in the same place."""

from __future__ import annotations

from pathlib import Path

from rdv.kafka.schema_topic import SchemaTopic
from rdv.topics import architecture_topics
from rdv_tools.demo.stack import LocalStack


def test_a_private_stacks_client_publishes_its_schemas_on_the_stacks_schemas_topic(
    tmp_path: Path,
) -> None:
    # Once on the standard `schemas` topic, which a private stack lacks: every benchmark run
    # warned "no topic schemas: schemas are not published".
    topics = {t.name: f"{t.name}-1234abcd" for t in architecture_topics(6)}
    stack = LocalStack("127.0.0.1:9", tmp_path, topics=topics)
    book = stack.client_codec().book
    assert isinstance(book, SchemaTopic)
    assert book.topic == "schemas-1234abcd"
    assert stack.env["RDV_SCHEMAS_TOPIC"] == book.topic  # where its services look
