"""What each decision writes: the messages for one transaction.

An answer goes to `answers` (and to the request's `reply_to` topic when it names one); a
record goes to `rendezvous.log`. Each is paired with its state entry, written in the same
transaction, so that after a crash a re-read request is known to be answered or closed."""

from __future__ import annotations

from rdv.codec import Codec
from rdv.kafka import Outgoing
from rdv.rendezvous import state
from rdv.rendezvous.core import SendAnswer, SendRecord
from rdv.rendezvous.settings import RendezvousServiceSettings
from rdv.topics import ANSWERS, RENDEZVOUS_LOG


def answer_messages(
    action: SendAnswer, codec: Codec, s: RendezvousServiceSettings
) -> list[Outgoing]:
    answer = action.answer
    encoded = codec.encode(ANSWERS.schema, answer.to_avro())
    key = answer.key.encode()
    messages = [Outgoing(s.answers_topic, encoded, key, partition=action.partition)]
    if action.reply_to:
        messages.append(Outgoing(action.reply_to, encoded, key))
    messages.append(
        state.entry_message(
            codec, s.state_topic, action.partition, answer, state.ANSWERED, action.offset
        )
    )
    return messages


def record_messages(
    action: SendRecord, codec: Codec, s: RendezvousServiceSettings
) -> list[Outgoing]:
    record = action.record
    return [
        Outgoing(
            s.log_topic,
            codec.encode(RENDEZVOUS_LOG.schema, record),
            record["key"].encode(),
            partition=action.partition,
        ),
        state.entry_message(
            codec, s.state_topic, action.partition, action.answer, state.CLOSED, action.offset
        ),
    ]
