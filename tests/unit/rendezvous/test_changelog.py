"""What a transaction writes to `rendezvous.state`: each request's last entry, and tombstones
only for entries that reached the topic before."""

from __future__ import annotations

from rdv.kafka import Outgoing
from rdv.rendezvous import state
from rdv.rendezvous.changelog import StateChangelog
from rdv.rendezvous.outputs import DecisionWriter
from rdv.rendezvous.settings import RendezvousServiceSettings
from tests.unit.rendezvous.test_outputs import decided
from tests.unit.rendezvous.test_state import CODEC, consumed

SETTINGS = RendezvousServiceSettings()
TOPIC = SETTINGS.state_topic


def entries(messages: list[Outgoing]) -> list[Outgoing]:
    return [m for m in messages if m.topic == TOPIC]


def test_a_request_answered_closed_and_committed_past_in_one_transaction_writes_nothing() -> None:
    answer, record = decided("r1")
    writer, log = DecisionWriter(CODEC, SETTINGS), StateChangelog()
    for message in entries(writer.answer(answer) + writer.record(record)):
        log.put(message)
    log.put(state.tombstone(TOPIC, 0, "r1"))
    assert log.take() == []


def test_answered_and_closed_in_one_transaction_writes_the_closed_entry_alone() -> None:
    answer, record = decided("r2")
    writer, log = DecisionWriter(CODEC, SETTINGS), StateChangelog()
    for message in entries(writer.answer(answer) + writer.record(record)):
        log.put(message)
    written = log.take()
    restored = state.restored_from(CODEC, consumed(written), [0])
    assert len(written) == 1
    assert restored.entries[0]["r2"].status == state.CLOSED


def test_an_entry_written_before_is_deleted_by_its_tombstone() -> None:
    answer, record = decided("r3")
    writer, log = DecisionWriter(CODEC, SETTINGS), StateChangelog()
    for message in entries(writer.answer(answer)):
        log.put(message)
    first = log.take()  # the commit came between its answer and its record
    for message in entries(writer.record(record)):
        log.put(message)
    log.put(state.tombstone(TOPIC, 0, "r3"))
    second = log.take()
    assert [m.value is None for m in second] == [True]
    assert state.restored_from(CODEC, consumed(first + second), [0]).entries == {0: {}}


def test_a_restored_entry_is_deleted_and_a_handed_over_one_left_to_its_next_owner() -> None:
    log = StateChangelog()
    log.restored(0, ["kept"])
    log.restored(1, ["handed"])
    log.leave([1])
    log.put(state.tombstone(TOPIC, 0, "kept"))
    log.put(state.tombstone(TOPIC, 1, "handed"))
    assert [(m.partition, m.key) for m in log.take()] == [(0, b"kept")]


def test_an_abandoned_transaction_writes_nothing_later_and_the_last_evidence_wins() -> None:
    log = StateChangelog()
    log.put(state.posteriors_message(TOPIC, 2, {"m@2": [1.0, 0.0]}))
    log.drop()
    assert log.take() == []
    log.put(state.posteriors_message(TOPIC, 2, {"m@2": [1.0, 0.0]}))
    log.put(state.posteriors_message(TOPIC, 2, {"m@2": [2.0, 0.0]}))
    [evidence] = log.take()
    assert state.restored_from(CODEC, consumed([evidence]), [2]).evidence == {
        2: {"m@2": [2.0, 0.0]}
    }
