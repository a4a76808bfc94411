"""Confluent framing against a real schema registry (Apicurio Registry, Confluent-compatible
API): schemas registered under their record names, writer schemas fetched by id, a newer
compatible Request answered across the stack, an incompatible one dead-lettered."""

from __future__ import annotations

import copy
import io
import json
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from fastavro import parse_schema, schemaless_writer

from rdv.codec import Codec
from rdv.codec.framing import frame_confluent
from rdv.errors import DecodeError
from rdv.kafka import Outgoing, Producer
from rdv.kafka.schema_registry import ConfluentSchemaRegistry
from rdv.protocol import new_request
from tests.integration.harness import CODEC, answers_and_letters, read_until, scored_by, services
from tests.integration.stack import StackTopics
from tests.integration.test_rendezvous import CONFIG, models, start_workers

pytestmark = pytest.mark.broker


def request_schema() -> dict[str, Any]:
    return copy.deepcopy(CODEC.catalog.current("Request").definition)


def newer_request_schema() -> dict[str, Any]:
    """The Request as a client upgraded before the services writes it: an optional field with
    a default, an ordinary evolution."""
    schema = request_schema()
    schema["fields"].append(
        {"name": "channel", "type": ["null", "string"], "default": None, "doc": "Where from."}
    )
    return schema


def write_with(url: str, schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    """A message as another client library writes it: registered schema, Confluent framing."""
    registry = ConfluentSchemaRegistry(url)
    schema_id = registry.id_for(f"{schema['namespace']}.{schema['name']}", json.dumps(schema))
    body = io.BytesIO()
    plain = json.loads(json.dumps(schema).replace('"logicalType"', '"_logicalType"'))
    schemaless_writer(body, parse_schema(plain), record)
    return frame_confluent(schema_id, body.getvalue())


def test_services_share_schemas_through_the_registry(schema_registry_url: str) -> None:
    writer = Codec(registry=ConfluentSchemaRegistry(schema_registry_url))
    reader = Codec(registry=ConfluentSchemaRegistry(schema_registry_url))  # another process
    request = new_request({"failed_logins": 4.0}, {"country": "FR"}, key="u1")
    data = writer.encode("Request", request)
    assert data[0] == 0  # Confluent's magic byte, then the registry's schema id
    assert reader.decode("Request", data) == request
    with urllib.request.urlopen(f"{schema_registry_url}/subjects", timeout=5) as response:
        assert "io.rendezvous.Request" in json.load(response)


def test_services_starting_together_register_a_schema_once(schema_registry_url: str) -> None:
    """Apicurio answers a racing second registration of a new subject with 409; each service
    must still get the schema's id (a rendezvous died of this once)."""
    schema = newer_request_schema()
    schema["name"] = "RaceProbe"
    got: list[object] = []

    def register() -> None:
        try:
            got.append(
                ConfluentSchemaRegistry(schema_registry_url).id_for(
                    "io.rendezvous.RaceProbe", json.dumps(schema)
                )
            )
        except Exception as exc:  # what the test reports, not what it expects
            got.append(exc)

    threads = [threading.Thread(target=register) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 6 and len(set(got)) == 1 and isinstance(got[0], int), got


def test_a_newer_compatible_request_resolves_to_the_current_one(schema_registry_url: str) -> None:
    record = {**new_request({"failed_logins": 2.0}, {}), "channel": "mobile"}
    data = write_with(schema_registry_url, newer_request_schema(), record)
    got = Codec(registry=ConfluentSchemaRegistry(schema_registry_url)).decode("Request", data)
    assert got["request_id"] == record["request_id"] and "channel" not in got


def incompatible(url: str) -> tuple[str, bytes]:
    """A Request whose key is a number: no reader of the current schema can take it."""
    schema = request_schema()
    for field in schema["fields"]:
        if field["name"] == "key":
            field["type"] = "long"
    record = {**new_request({}, {}), "key": 42}
    return record["request_id"], write_with(url, schema, record)


def test_an_incompatible_request_is_refused_in_one_line(schema_registry_url: str) -> None:
    request_id, data = incompatible(schema_registry_url)
    codec = Codec(registry=ConfluentSchemaRegistry(schema_registry_url))
    with pytest.raises(DecodeError) as refused:
        codec.decode("Request", data)
    assert "fields that differ: key" in refused.value.reason, refused.value.reason
    assert refused.value.request_id == request_id  # still readable: the answer goes under it


def warm_up_framed(stack: StackTopics, producer: Producer, codec: Codec) -> None:
    """Until the champion answers: the services write Confluent framing here, which the
    harness's plain codec cannot read."""
    deadline = time.monotonic() + 90
    while True:
        probe = new_request({"failed_logins": 1.0}, {"country": "FR"})
        producer.send(
            Outgoing(stack["requests"], codec.encode("Request", probe), probe["key"].encode())
        )
        producer.flush()

        def preferred(messages: list[Any], rid: str = probe["request_id"]) -> bool:
            return any(
                a["request_id"] == rid and a["reason"] == "preferred"
                for a in (codec.decode("Answer", m.value) for m in messages)
            )

        if preferred(read_until(stack.bootstrap, stack["answers"], preferred, 3)):
            return
        assert time.monotonic() < deadline, "the champion never answered"


def test_the_stack_answers_clients_upgraded_before_it(
    kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> None:
    stack = StackTopics(kafka_bootstrap)
    stack.publish(CONFIG)
    env = {**stack.env, "RDV_SCHEMA_REGISTRY_URL": schema_registry_url}
    with services(tmp_path, stack.bootstrap, env) as launch:
        start_workers(launch, models(tmp_path))
        launch("rendezvous")
        registry_codec = Codec(registry=ConfluentSchemaRegistry(schema_registry_url))
        producer = Producer(stack.bootstrap)
        warm_up_framed(stack, producer, registry_codec)
        sent = []
        for i in range(20):
            record = {
                **new_request({"failed_logins": float(i % 9)}, {"country": "FR"}, key=f"new-{i}"),
                "channel": "web",
            }
            data = write_with(schema_registry_url, newer_request_schema(), record)
            producer.send(Outgoing(stack["requests"], data, record["key"].encode()))
            sent.append(record["request_id"])
        refused = []
        for _ in range(3):
            request_id, data = incompatible(schema_registry_url)
            producer.send(Outgoing(stack["requests"], data, b"old-client"))
            refused.append(request_id)
        producer.flush()

        answers, letters = answers_and_letters(
            stack, registry_codec, set(sent) | set(refused), b"fields that differ: key", 3
        )
        # Which tier answered depends on how fast each worker fetched the new schema; that
        # the champion read every request does not.
        scores = read_until(
            stack.bootstrap,
            stack["results"],
            lambda m: set(sent) <= scored_by(registry_codec, m, CONFIG.champion),
            60,
        )
    # The incompatible requests: dead-lettered with the reason, answered under their own ids.
    assert {answers[i]["reason"] for i in refused} == {"default"}
    assert sum(b"fields that differ: key" in m.value for m in letters) >= 3
    assert set(sent) <= scored_by(registry_codec, scores, CONFIG.champion)
