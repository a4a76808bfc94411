"""The changelog of answered and closed mailboxes on `rendezvous.state`.

A request is read again after a crash whenever the committed offset has not passed it. Its
state entry says what already happened: `answered` (answer it no more, but still record it)
or `closed` (its record is written: skip it). An entry is deleted (tombstone) in the same
transaction that commits an offset past its request, so the topic holds only what can still
come back."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from rdv import protocol
from rdv.codec import Codec
from rdv.errors import RendezvousError
from rdv.kafka import KafkaSettings, Message, Outgoing
from rdv.kafka.reader import read_partitions
from rdv.kafka.retry import patiently
from rdv.messages import Answer
from rdv.topics import RENDEZVOUS_STATE

ANSWERED, CLOSED = b"answered", b"closed"


@dataclass(frozen=True)
class Entry:
    status: bytes
    answer: Answer
    offset: int  # of the request in its partition


def entry_message(
    codec: Codec,
    topic: str,
    partition: int,
    answer: Answer,
    status: bytes,
    request_offset: int,
) -> Outgoing:
    return Outgoing(
        topic,
        codec.encode(RENDEZVOUS_STATE.schema, answer.to_avro()),
        answer.request_id.encode(),
        headers=((protocol.STATE, status), (protocol.STATE_OFFSET, str(request_offset).encode())),
        partition=partition,
    )


def tombstone(topic: str, partition: int, request_id: str) -> Outgoing:
    return Outgoing(topic, None, request_id.encode(), partition=partition)


def restore(
    bootstrap: str,
    codec: Codec,
    topic: str,
    partitions: list[int],
    kafka: KafkaSettings | None = None,
) -> dict[int, dict[str, Entry]]:
    """The live entries of these partitions, by partition and request id, read in one pass."""
    entries: dict[int, dict[str, Entry]] = {p: {} for p in partitions}
    for msg in read_partitions(bootstrap, topic, partitions, kafka):
        _apply(codec, msg, entries[msg.partition])
    return entries


def restore_patiently(
    bootstrap: str,
    codec: Codec,
    topic: str,
    partitions: list[int],
    kafka: KafkaSettings | None,
    stopping: threading.Event,
) -> dict[int, dict[str, Entry]]:
    """`restore`, retried with backoff while Kafka is away: answering without the state could
    answer a request twice, so there is no going on without it."""
    return patiently(
        lambda: restore(bootstrap, codec, topic, partitions, kafka),
        f"state of partitions {partitions}",
        stopping,
        (RendezvousError,),
    )


def _apply(codec: Codec, msg: Message, entries: dict[str, Entry]) -> None:
    request_id = (msg.key or b"").decode()
    if msg.value is None:
        entries.pop(request_id, None)
        return
    status = msg.header(protocol.STATE) or ANSWERED
    offset = int((msg.header(protocol.STATE_OFFSET) or b"-1").decode())
    entries[request_id] = Entry(
        status, Answer.from_avro(codec.decode(RENDEZVOUS_STATE.schema, msg.value)), offset
    )
