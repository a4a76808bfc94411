"""What a restore makes of the changelog: each request's last entry, in the order written."""

from __future__ import annotations

from rdv.codec import Codec
from rdv.kafka import Message, Outgoing
from rdv.rendezvous import state
from rdv.rendezvous.outputs import DecisionWriter
from rdv.rendezvous.settings import RendezvousServiceSettings
from tests.unit.rendezvous.test_outputs import decided

CODEC = Codec()
SETTINGS = RendezvousServiceSettings()


def consumed(outgoing: list[Outgoing]) -> list[Message]:
    """The state topic's messages among these, as a restore reads them back."""
    return [
        Message(m.topic, m.partition or 0, offset, m.key, m.value, tuple(m.headers or ()))
        for offset, m in enumerate(outgoing)
        if m.topic == SETTINGS.state_topic
    ]


def test_a_request_answered_then_closed_is_restored_closed() -> None:
    answer, record = decided("r1")
    writer = DecisionWriter(CODEC, SETTINGS)
    messages = consumed(writer.answer(answer) + writer.record(record))
    restored = state.restored_from(CODEC, messages, [0])
    entry = restored.entries[0]["r1"]
    assert (entry.status, entry.answer) == (state.CLOSED, answer.answer)


def test_a_request_answered_but_not_yet_closed_is_restored_answered() -> None:
    answer, _ = decided("r2")
    messages = consumed(DecisionWriter(CODEC, SETTINGS).answer(answer))
    assert state.restored_from(CODEC, messages, [0]).entries[0]["r2"].status == state.ANSWERED


def test_a_tombstoned_entry_is_gone_and_never_decoded() -> None:
    answer, _ = decided("r3")
    written = DecisionWriter(CODEC, SETTINGS).answer(answer)
    unreadable = Outgoing(SETTINGS.state_topic, b"\xc3\x01 not avro", b"r4", partition=0)
    messages = consumed(
        written
        + [unreadable]
        + [state.tombstone(SETTINGS.state_topic, 0, rid) for rid in ("r3", "r4")]
    )
    restored = state.restored_from(CODEC, messages, [0, 1])
    assert restored.entries == {0: {}, 1: {}}


def test_the_last_evidence_of_each_partition_counts() -> None:
    older = state.posteriors_message(SETTINGS.state_topic, 1, {"m@2": [1.0, 0.0]})
    newer = state.posteriors_message(SETTINGS.state_topic, 1, {"m@2": [3.0, 2.0]})
    restored = state.restored_from(CODEC, consumed([older, newer]), [1])
    assert restored.evidence == {1: {"m@2": [3.0, 2.0]}}
