"""Bad input across a real broker: random and mutated bytes, hostile JSON (NaN, infinity, huge
numbers, unknown categories, missing and wrong fields), an oversized request, an unknown schema
fingerprint and a flood of one key, mixed into good traffic. Every service stays up, every bad
message reaches dead-letters with a reason, every good request is answered once."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from rdv.errors import DecodeError
from rdv.kafka import Outgoing, Producer
from rdv.protocol import new_request
from tests.integration.harness import CODEC, read_until, services
from tests.integration.stack import StackTopics
from tests.integration.test_rendezvous import CONFIG, models, start_workers, warm_up

pytestmark = [pytest.mark.broker, pytest.mark.parallel]
JSON = (("content-type", b"application/json"),)


def bad_messages(seed: int = 7) -> list[tuple[bytes, tuple[tuple[str, bytes], ...]]]:
    rng = random.Random(seed)
    valid = CODEC.encode("Request", new_request({"failed_logins": 2.0}, {"country": "FR"}))
    bad: list[tuple[bytes, tuple[tuple[str, bytes], ...]]] = []
    for _ in range(40):  # random bytes
        bad.append((rng.randbytes(rng.randint(0, 200)), ()))
    for _ in range(40):  # a valid request with bytes flipped past its header
        mutated = bytearray(valid)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(10, len(mutated))] = rng.randrange(256)
        bad.append((bytes(mutated), ()))
    bad.append((valid[:2] + bytes(8) + valid[10:], ()))  # unknown schema fingerprint
    bad.append((valid[:-3], ()))  # truncated
    for text in (
        '{"features": [1, 2, 3]}',
        '{"key": 42, "features": {}}',  # a field of the wrong type
        '{"features": {"failed_logins": {"nested": 1}}}',
        "[]",
        "not json at all",
    ):
        bad.append((text.encode(), JSON))
    # A flipped byte inside a string field still decodes: such a message is a valid request.
    return [(value, headers) for value, headers in bad if not _decodes(value, headers)]


def _decodes(value: bytes, headers: tuple[tuple[str, bytes], ...]) -> bool:
    content_type = dict(headers).get("content-type", b"").decode() or None
    try:
        CODEC.decode("Request", value, content_type)
    except DecodeError:
        return False
    return True


def hostile_but_valid() -> list[dict[str, object]]:
    """Decodable requests with awkward values: each is answered (scored or defaulted)."""
    return [
        {"failed_logins": float("nan"), "country": "FR"},
        {"failed_logins": float("inf")},
        {"failed_logins": -float("inf"), "account_age_days": 1e300},
        {"country": "Atlantis"},  # a category the model never saw
        {},  # every feature missing
        {"failed_logins": 3.0, "country": "x" * 200_000},  # oversized: ~200 KB
    ]


def test_bad_input_is_dead_lettered_and_good_requests_are_all_answered(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    stack = StackTopics(kafka_bootstrap)
    stack.publish(CONFIG)
    bad = bad_messages()
    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        workers = start_workers(launch, models(tmp_path))
        rendezvous = launch("rendezvous")
        warm_up(stack)
        producer = Producer(stack.bootstrap)
        good: list[dict[str, object]] = []
        flood = [
            new_request({"failed_logins": float(i % 7)}, {"country": "US"}, key="one-key")
            for i in range(150)
        ]
        awkward = [
            new_request(
                {k: v for k, v in f.items() if not isinstance(v, str)},  # type: ignore[misc]
                {k: v for k, v in f.items() if isinstance(v, str)},  # type: ignore[misc]
                key=f"odd-{i}",
            )
            for i, f in enumerate(hostile_but_valid())
        ]
        for i, request in enumerate([*flood, *awkward]):
            if i < len(bad):  # interleaved: a bad message between good ones
                value, headers = bad[i]
                producer.send(Outgoing(stack["requests"], value, b"junk", headers=headers))
            producer.send(
                Outgoing(
                    stack["requests"],
                    CODEC.encode("Request", request),
                    str(request["key"]).encode(),
                )
            )
            good.append(request)
        for value, headers in bad[len(flood) + len(awkward) :]:
            producer.send(Outgoing(stack["requests"], value, b"junk", headers=headers))
        producer.flush()

        sent = {str(r["request_id"]) for r in good}
        got = [
            a
            for a in (
                CODEC.decode("Answer", m.value)
                for m in read_until(
                    stack.bootstrap,
                    stack["answers"],
                    lambda m: sent <= {CODEC.decode("Answer", x.value)["request_id"] for x in m},
                    120,
                )
            )
            if a["request_id"] in sent
        ]
        letters = [
            CODEC.decode("DeadLetter", m.value)
            for m in read_until(
                stack.bootstrap,
                stack["dead-letters"],
                lambda m: sum(b"worker" in x.value for x in m) >= len(bad) * len(workers),
                60,
            )
        ]
        alive = {
            name: s.process is not None and s.process.poll() is None
            for name, s in [*workers.items(), ("rendezvous", rendezvous)]
        }
    assert all(alive.values()), alive
    assert Counter(a["request_id"] for a in got) == Counter(sent)  # each answered, once
    by_worker = Counter(letter["service"] for letter in letters)
    assert by_worker["worker"] >= len(bad) * len(workers), by_worker
    assert all(letter["reason"] and "\n" not in letter["reason"] for letter in letters)
    # Each bad message keeps its bytes whole in its dead letter, so nothing is lost.
    kept = {bytes(letter["original_value"]) for letter in letters}
    assert {value for value, _ in bad} <= kept
