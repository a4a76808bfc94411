"""Schemas that evolve with their clients, with no registry: a client upgraded before the
services publishes its Request schema on the schemas topic with its first request, and every
service resolves the unknown fingerprint there. An incompatible one is dead-lettered naming
the field, and answered (the default) under its own request id."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rdv.codec import Codec
from rdv.codec.catalog import SchemaCatalog
from rdv.kafka import Message, Outgoing, Producer
from rdv.kafka.reader import PartitionReader
from rdv.kafka.schema_topic import SchemaTopic
from rdv.paths import schemas_dir
from rdv.protocol import new_request
from rdv.topics import ANSWERS, DEAD_LETTERS, RENDEZVOUS_LOG, RESULTS
from tests.integration.harness import (
    CODEC,
    answers_and_letters,
    eventually,
    read_until,
    scored_by,
    services,
)
from tests.integration.stack import StackTopics
from tests.integration.test_rendezvous import CONFIG, models, start_workers, warm_up

pytestmark = [pytest.mark.broker, pytest.mark.parallel]


def client_catalog(tmp: Path, change: Callable[[dict[str, Any]], None]) -> SchemaCatalog:
    """The schemas as a client of another release has them: the Request changed."""
    shutil.copytree(schemas_dir(), tmp)
    path = tmp / "request.avsc"
    schema = json.loads(path.read_text())
    change(schema)
    path.write_text(json.dumps(schema))
    return SchemaCatalog(tmp)


def with_channel(schema: dict[str, Any]) -> None:
    schema["fields"].append({"name": "channel", "type": ["null", "string"], "default": None})


def key_as_number(schema: dict[str, Any]) -> None:
    for field in schema["fields"]:
        if field["name"] == "key":
            field["type"] = "long"


def test_requests_of_a_newer_client_are_answered_and_an_incompatible_ones_found(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    stack = StackTopics(kafka_bootstrap)
    stack.publish(CONFIG)
    book = SchemaTopic(stack.bootstrap, stack["schemas"])
    newer = Codec(client_catalog(tmp_path / "newer", with_channel), book=book)
    broken = Codec(client_catalog(tmp_path / "broken", key_as_number), book=book)
    assert newer.catalog.current("Request").fingerprint not in {
        v.fingerprint for v in CODEC.catalog.versions()
    }
    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        start_workers(launch, models(tmp_path))
        launch("rendezvous")
        warm_up(stack)
        producer = Producer(stack.bootstrap)
        sent, refused = [], []
        for i in range(20):
            record = new_request({"failed_logins": float(i % 9)}, {"country": "FR"}, key=f"n{i}")
            data = newer.encode("Request", {**record, "channel": "web"})
            producer.send(Outgoing(stack["requests"], data, record["key"].encode()))
            sent.append(record["request_id"])
        for _ in range(3):
            record = {**new_request({"failed_logins": 1.0}, {}), "key": 7}
            data = broken.encode("Request", record)
            producer.send(Outgoing(stack["requests"], data, b"old-client"))
            refused.append(record["request_id"])
        producer.flush()

        answers, letters = answers_and_letters(
            stack, CODEC, set(sent) | set(refused), b"fields that differ: key", 3
        )
        # Which tier answers depends on how fast each worker reads; that every service read
        # the newer requests does not: the champion scored each, and nobody dead-lettered one.
        scores = read_until(
            stack.bootstrap, stack["results"], lambda m: set(sent) <= champion(m), 60
        )
    assert set(sent) <= champion(scores)
    fingerprint = newer.catalog.current("Request").fingerprint.hex().encode()
    assert not [m.value for m in letters if fingerprint in m.value]
    assert {answers[i]["reason"] for i in refused} == {"default"}  # under their own ids
    assert sum(b"fields that differ: key" in m.value for m in letters) >= 3


def champion(messages: list[Message]) -> set[str]:
    return scored_by(CODEC, messages, CONFIG.champion)


def test_services_publish_the_schemas_they_write_before_they_serve(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """A rendezvous and a worker announce their schemas as they start, not with their first
    message: published on first use, it held a new rendezvous's first answers ~0.5 s in a
    rolling upgrade. No request is sent here, so only announcing can put them there."""
    stack = StackTopics(kafka_bootstrap)
    stack.publish(CONFIG)
    written = {s.schema for s in (ANSWERS, RENDEZVOUS_LOG, DEAD_LETTERS, RESULTS)}
    wanted = {CODEC.catalog.current(name).fingerprint.hex(): name for name in written}

    def published() -> set[str]:
        reader = PartitionReader(stack.bootstrap, stack["schemas"])
        try:
            keys = {(m.key or b"").decode() for m in reader.read_to_end()}
        finally:
            reader.close()
        return {name for fingerprint, name in wanted.items() if fingerprint in keys}

    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        paths = models(tmp_path)
        launch("worker", "--model", str(paths["login-bot@2"]), "--role", "champion")
        launch("rendezvous")
        eventually(lambda: published() == written, 90, f"{sorted(written)} on the schemas topic")
    assert published() == written  # and they stay: the topic is compacted, never emptied
