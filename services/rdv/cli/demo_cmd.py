"""`rdv demo`: what works end to end today, run on the embedded broker."""

from __future__ import annotations

import time
import uuid

from rdv.broker import EmbeddedBroker, default_data_dir, running_state
from rdv.cli.common import console, out, to_json_line
from rdv.kafka import Consumer, Outgoing, Producer, create_topics
from rdv.requests import new_request
from rdv.settings import RendezvousSettings, make_codec
from rdv.topics import REQUESTS, architecture_topics


def demo() -> None:
    """Start the embedded broker, create the topics, send a request and read it back."""
    console.rule("Rendezvous demo")
    console.print(
        "Today the demo runs the foundation end to end; model workers and the "
        "rendezvous itself are not built yet."
    )
    state = running_state(default_data_dir())
    if state:
        bootstrap = state.bootstrap
        console.print(f"1. Kafka already running on {bootstrap}")
    else:
        began = time.monotonic()
        with console.status("1. starting Kafka (first run fetches its jars with Maven) ..."):
            bootstrap = EmbeddedBroker(default_data_dir()).start().bootstrap
        console.print(f"1. Kafka started on {bootstrap} in {time.monotonic() - began:.1f} s")
    outcome = create_topics(bootstrap, architecture_topics(RendezvousSettings().partitions))
    console.print(f"2. topics: {', '.join(f'{t} ({s})' for t, s in outcome.items())}")
    codec = make_codec()
    request = new_request(
        {"failed_logins_1h": 7.0, "account_age_days": 412.0},
        {"country": "FR", "device": "mobile"},
        key="user-42",
    )
    producer = Producer(bootstrap)
    producer.send(Outgoing(REQUESTS, codec.encode("Request", request), b"user-42"))
    producer.flush()
    console.print(f"3. sent request {request['request_id']} (Avro, single-object encoding)")
    consumer = Consumer(
        bootstrap,
        f"rdv-demo-{uuid.uuid4().hex[:8]}",
        [REQUESTS],
        overrides={"enable.auto.commit": False},
    )
    found = None
    deadline = time.monotonic() + 30
    try:
        while found is None and time.monotonic() < deadline:
            for msg in consumer.poll_batch(500, 0.2):
                record = codec.decode("Request", msg.value)
                if record["request_id"] == request["request_id"]:
                    found = (msg, record)
    finally:
        consumer.close()
    if found is None:
        raise SystemExit("the request did not come back within 30 s")
    msg, record = found
    console.print(f"4. read it back from {msg.topic}[{msg.partition}] at offset {msg.offset}:")
    out.print(to_json_line(record))
    console.rule("done")
    console.print(f"Kafka keeps running on {bootstrap}: `rdv broker status`, `rdv broker stop`.")
