"""Dead letters: a message a service could not handle, kept whole with the reason."""

from __future__ import annotations

import time

from rdv import protocol
from rdv.codec import Codec
from rdv.kafka.envelopes import Message, Outgoing
from rdv.topics import DEAD_LETTERS


def dead_letter(
    codec: Codec,
    message: Message,
    reason: str,
    error_type: str,
    service: str,
    instance: str,
    topic: str = DEAD_LETTERS.name,
) -> Outgoing:
    """The DeadLetter for `message`, keyed like it so one entity's failures stay together."""
    record = {
        "reason": reason,
        "error_type": error_type,
        "service": service,
        "instance": instance,
        "source_topic": message.topic,
        "source_partition": message.partition,
        "source_offset": message.offset,
        "original_key": message.key,
        "original_value": message.value,
        "original_headers": [{"key": k, "value": v} for k, v in message.headers],
        "failed_at": time.time_ns() // 1_000_000,
    }
    return Outgoing(
        topic=topic,
        key=message.key,
        value=codec.encode(DEAD_LETTERS.schema, record),
        headers=((protocol.ERROR_TYPE, error_type.encode()),),
    )
