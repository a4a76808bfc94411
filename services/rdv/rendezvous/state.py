"""The changelog of answered and closed mailboxes on `rendezvous.state`.

A request is read again after a crash whenever the committed offset has not passed it. Its
state entry says what already happened: `answered` (answer it no more, but still record it)
or `closed` (its record is written: skip it). An entry is deleted (tombstone) in the same
transaction that commits an offset past its request, so the topic holds only what can still
come back.

Each partition also has one entry of Thompson-sampling evidence (key `POSTERIORS_KEY`, JSON
`{model: [reward sum, 1 - reward sum]}`), rewritten in the transaction that commits the
feedback it counts, so it survives restarts and moves with the partition."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

from rdv import protocol
from rdv.codec import Codec
from rdv.errors import RendezvousError
from rdv.kafka import KafkaSettings, Message, Outgoing
from rdv.kafka.reader import read_partitions
from rdv.kafka.retry import patiently
from rdv.messages import Answer
from rdv.topics import RENDEZVOUS_STATE

ANSWERED, CLOSED, POSTERIORS = b"answered", b"closed", b"posteriors"
# No request id starts with NUL, so this key never meets a mailbox's.
POSTERIORS_KEY = b"\x00posteriors"
Evidence = dict[str, list[float]]


@dataclass(frozen=True)
class Entry:
    status: bytes
    answer: Answer
    offset: int  # of the request in its partition


def entry_message(
    topic: str,
    partition: int,
    answer: Answer,
    encoded: bytes,
    status: bytes,
    request_offset: int,
) -> Outgoing:
    """The entry of one request: `encoded` is the answer in RENDEZVOUS_STATE's schema."""
    return Outgoing(
        topic,
        encoded,
        answer.request_id.encode(),
        headers=((protocol.STATE, status), (protocol.STATE_OFFSET, str(request_offset).encode())),
        partition=partition,
    )


def posteriors_message(topic: str, partition: int, evidence: Evidence) -> Outgoing:
    value = json.dumps(evidence, sort_keys=True).encode()
    return Outgoing(
        topic, value, POSTERIORS_KEY, headers=((protocol.STATE, POSTERIORS),), partition=partition
    )


@dataclass
class Restored:
    """What the changelog holds for some partitions: live mailbox entries and evidence."""

    entries: dict[int, dict[str, Entry]]
    evidence: dict[int, Evidence] = field(default_factory=dict)


def tombstone(topic: str, partition: int, request_id: str) -> Outgoing:
    return Outgoing(topic, None, request_id.encode(), partition=partition)


def restore(
    bootstrap: str,
    codec: Codec,
    topic: str,
    partitions: list[int],
    kafka: KafkaSettings | None = None,
) -> Restored:
    """The live entries of these partitions, by partition and request id, and their
    evidence, read in one pass."""
    return restored_from(codec, read_partitions(bootstrap, topic, partitions, kafka), partitions)


def restored_from(codec: Codec, messages: list[Message], partitions: list[int]) -> Restored:
    """What these changelog messages leave, in their order: each key's last message counts.

    Only the survivors are decoded: most entries are replaced (answered, then closed) or
    deleted by a tombstone before compaction runs, and each decoding costs ~12 µs here, on
    the path of a rolling upgrade's first answers (thousands of entries a minute at 50/s)."""
    last: dict[tuple[int, bytes], Message] = {}
    for msg in messages:
        last[(msg.partition, msg.key or b"")] = msg
    restored = Restored({p: {} for p in partitions})
    for (partition, key), msg in last.items():
        if msg.value is None:
            continue
        if key == POSTERIORS_KEY:
            restored.evidence[partition] = json.loads(msg.value)
            continue
        restored.entries[partition][key.decode()] = _entry(codec, msg)
    return restored


def restore_patiently(
    bootstrap: str,
    codec: Codec,
    topic: str,
    partitions: list[int],
    kafka: KafkaSettings | None,
    stopping: threading.Event,
) -> Restored:
    """`restore`, retried with backoff while Kafka is away: answering without the state could
    answer a request twice, so there is no going on without it."""
    return patiently(
        lambda: restore(bootstrap, codec, topic, partitions, kafka),
        f"state of partitions {partitions}",
        stopping,
        (RendezvousError,),
    )


def _entry(codec: Codec, msg: Message) -> Entry:
    assert msg.value is not None
    status = msg.header(protocol.STATE) or ANSWERED
    offset = int((msg.header(protocol.STATE_OFFSET) or b"-1").decode())
    answer = Answer.from_avro(codec.decode(RENDEZVOUS_STATE.schema, msg.value))
    return Entry(status, answer, offset)
