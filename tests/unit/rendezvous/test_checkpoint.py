"""What a commit carries besides the answers: offsets held back for open mailboxes, the
tombstones they allow, and nothing that an abandoned transaction left behind."""

from __future__ import annotations

from rdv.kafka import Message, Outgoing
from rdv.rendezvous.checkpoint import Checkpoint
from tests.unit.rendezvous.sim import Sim


def _read(checkpoint: Checkpoint, topic: str, partition: int, offset: int) -> None:
    checkpoint.read(Message(topic, partition, offset, None, None))


def _entry(request_id: str, partition: int = 0) -> Outgoing:
    return Outgoing("state", b"answered", request_id.encode(), partition=partition)


def test_a_commit_carries_what_was_read_then_only_what_moved() -> None:
    checkpoint, core = Checkpoint("requests", "results", "state"), Sim().core
    _read(checkpoint, "requests", 0, 9)
    _read(checkpoint, "results", 0, 4)
    marks = checkpoint.marks(core)
    assert {(m.topic, m.offset) for m in marks} == {("requests", 10), ("results", 5)}
    checkpoint.committed(marks)
    _read(checkpoint, "requests", 0, 10)
    assert [(m.topic, m.offset) for m in checkpoint.marks(core)] == [("requests", 11)]


def test_an_entry_that_reached_the_topic_is_deleted_once_the_offset_passes_its_request() -> None:
    checkpoint, core = Checkpoint("requests", "results", "state"), Sim().core
    checkpoint.entry(_entry("r1"))
    checkpoint.marks(core)
    assert [m.key for m in checkpoint.entries()] == [b"r1"]  # written: its commit comes later
    checkpoint.closed(0, "r1", 3)
    _read(checkpoint, "requests", 0, 3)
    checkpoint.marks(core)
    assert [(m.key, m.value) for m in checkpoint.entries()] == [(b"r1", None)]


def test_an_entry_answered_and_closed_within_one_commit_writes_nothing() -> None:
    checkpoint, core = Checkpoint("requests", "results", "state"), Sim().core
    checkpoint.entry(_entry("r1"))
    checkpoint.closed(0, "r1", 3)
    _read(checkpoint, "requests", 0, 3)
    checkpoint.marks(core)
    assert checkpoint.entries() == []


def test_forgotten_after_an_abandoned_transaction_every_offset_goes_out_again() -> None:
    checkpoint, core = Checkpoint("requests", "results", "state"), Sim().core
    _read(checkpoint, "requests", 0, 9)
    checkpoint.committed(checkpoint.marks(core))
    checkpoint.entry(_entry("r2"))
    checkpoint.forget()
    assert checkpoint.entries() == []
    assert checkpoint.marks(core) == []  # nothing read since: read again from the commit
    _read(checkpoint, "requests", 0, 9)
    assert [(m.topic, m.offset) for m in checkpoint.marks(core)] == [("requests", 10)]


def test_an_entry_restored_from_the_topic_gets_its_tombstone_unless_handed_over() -> None:
    checkpoint, core = Checkpoint("requests", "results", "state"), Sim().core
    checkpoint.restored(0, ["kept"])
    checkpoint.restored(1, ["moved"])
    checkpoint.leave([1])
    for partition, request_id in ((0, "kept"), (1, "moved")):
        checkpoint.closed(partition, request_id, 2)
        _read(checkpoint, "requests", partition, 2)
    checkpoint.marks(core)
    assert [(m.key, m.partition) for m in checkpoint.entries()] == [(b"kept", 0)]
