"""What each decision writes: the messages for one transaction.

An answer goes to `answers` (and to the request's `reply_to` topic when it names one); a
record goes to `rendezvous.log`. Each is paired with its state entry, written in the same
transaction, so that after a crash a re-read request is known to be answered or closed."""

from __future__ import annotations

from rdv.codec import Codec
from rdv.kafka import Outgoing
from rdv.messages import Answer
from rdv.rendezvous import state
from rdv.rendezvous.core import SendAnswer, SendRecord
from rdv.rendezvous.settings import RendezvousServiceSettings
from rdv.topics import ANSWERS, DEAD_LETTERS, RENDEZVOUS_LOG, RENDEZVOUS_STATE

# The state entries carry the answer in the answer's own schema, so its bytes serve both.
assert RENDEZVOUS_STATE.schema == ANSWERS.schema
# Every schema the rendezvous writes with: published before it answers (`Codec.announce`).
WRITTEN_SCHEMAS = (ANSWERS.schema, RENDEZVOUS_LOG.schema, DEAD_LETTERS.schema)


class DecisionWriter:
    """Turns decisions into messages. An answer is encoded once: its state entries (answered,
    then closed when its record is written) reuse the bytes sent to `answers`, which saves
    two of the four Avro encodings a request cost the rendezvous (docs/performance.md)."""

    def __init__(self, codec: Codec, settings: RendezvousServiceSettings) -> None:
        self.codec, self.settings = codec, settings
        # Open mailboxes' answers, until their record closes them: request id -> answer, bytes.
        self._encoded: dict[str, tuple[Answer, bytes]] = {}

    def answer(self, action: SendAnswer) -> list[Outgoing]:
        s, answer = self.settings, action.answer
        encoded = self.codec.encode(ANSWERS.schema, answer.to_avro())
        self._encoded[answer.request_id] = (answer, encoded)
        key = answer.key.encode()
        messages = [Outgoing(s.answers_topic, encoded, key, partition=action.partition)]
        if action.reply_to:
            messages.append(Outgoing(action.reply_to, encoded, key))
        messages.append(
            state.entry_message(
                s.state_topic, action.partition, answer, encoded, state.ANSWERED, action.offset
            )
        )
        return messages

    def record(self, action: SendRecord) -> list[Outgoing]:
        s, record, answer = self.settings, action.record, action.answer
        known = self._encoded.pop(answer.request_id, None)
        # An answer restored from the changelog after a restart was never encoded here.
        encoded = (
            known[1]
            if known is not None and known[0] == answer
            else self.codec.encode(RENDEZVOUS_STATE.schema, answer.to_avro())
        )
        return [
            Outgoing(
                s.log_topic,
                self.codec.encode(RENDEZVOUS_LOG.schema, record),
                record["key"].encode(),
                partition=action.partition,
            ),
            state.entry_message(
                s.state_topic, action.partition, answer, encoded, state.CLOSED, action.offset
            ),
        ]

    def forget(self) -> None:
        """Partitions lost or handed over: their mailboxes are read again by whoever owns them."""
        self._encoded.clear()
