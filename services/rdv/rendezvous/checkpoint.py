"""What the rendezvous's next commit carries besides its answers: the consumed offsets, held
back to what open mailboxes still need, and the state entries those offsets allow.

A partition's offset moves only as far as `offsets.watermarks` allows; a closed request's
entry is deleted once that offset has passed it, and the Thompson-sampling evidence that
changed rides along. Everything here is forgotten when the transaction is abandoned, and read
again from the committed offsets."""

from __future__ import annotations

from collections.abc import Iterable

from rdv.kafka import Message, Offset, Outgoing
from rdv.rendezvous import state
from rdv.rendezvous.changelog import StateChangelog
from rdv.rendezvous.core import DecisionCore
from rdv.rendezvous.offsets import CommittedMarks, tombstones, watermarks


class Checkpoint:
    def __init__(self, requests_topic: str, results_topic: str, state_topic: str) -> None:
        self._requests, self._results, self._state = requests_topic, results_topic, state_topic
        self._changelog = StateChangelog()
        self._consumed: dict[tuple[str, int], int] = {}  # next offset to read
        self._closed: dict[int, dict[str, int]] = {}  # partition -> request id -> offset
        self._committed = CommittedMarks()

    def restored(self, partition: int, request_ids: Iterable[str]) -> None:
        """Entries a restore found on the topic: their tombstones must be written."""
        self._changelog.restored(partition, request_ids)

    def entry(self, message: Outgoing) -> None:
        """A state entry for the commit: it replaces any the request had since the last."""
        self._changelog.put(message)

    def drop_entries(self) -> None:
        """The producer holding them was replaced: they are decided again after a rewind."""
        self._changelog.drop()

    def read(self, msg: Message) -> None:
        self._consumed[(msg.topic, msg.partition)] = msg.offset + 1

    def closed(self, partition: int, request_id: str, offset: int) -> None:
        """A request whose record is written: its entry goes once the offset passes it."""
        self._closed.setdefault(partition, {})[request_id] = offset

    def marks(self, core: DecisionCore) -> list[Offset]:
        """The offsets that moved since the last commit (an idle instance commits nothing),
        with the tombstones and evidence they allow added to the entries."""
        marks = watermarks(core, self._consumed, self._requests, self._results)
        for message in tombstones(marks, self._closed, self._requests, self._state):
            self.entry(message)
        for partition, evidence in core.posteriors.take_changed().items():
            self.entry(state.posteriors_message(self._state, partition, evidence))
        return self._committed.moved(marks)

    def entries(self) -> list[Outgoing]:
        """The state entries the commit about to begin must carry."""
        return self._changelog.take()

    def committed(self, marks: list[Offset]) -> None:
        self._committed.note(marks)

    def forget(self) -> None:
        """Drop everything not yet committed; it is read again from the committed offsets."""
        self.drop_entries()
        self._closed.clear()
        self._consumed.clear()
        self._committed.clear()

    def leave(self, partitions: Iterable[int]) -> None:
        """Partitions handed over: their next owner deletes their entries."""
        self._changelog.leave(partitions)

    def start_over(self) -> None:
        """Fenced and joining again: what the topic holds is learnt afresh from the restore."""
        self.forget()
        self._changelog = StateChangelog()
