"""Which offsets the rendezvous may commit, and which state entries that lets it delete.

A partition's offset can move only to the lowest offset an open mailbox (or a score waiting
for its request) still needs: everything below it is done. A closed request's state entry can
be deleted (a tombstone) once the committed offset has passed its request, since it can no
longer be read again."""

from __future__ import annotations

from rdv.kafka import Offset, Outgoing
from rdv.rendezvous import state
from rdv.rendezvous.core import DecisionCore


def watermarks(
    core: DecisionCore,
    consumed: dict[tuple[str, int], int],
    requests_topic: str,
    results_topic: str,
) -> list[Offset]:
    low = dict(consumed)
    for mailbox in core.mailboxes.values():
        key = (requests_topic, mailbox.request.partition)
        low[key] = min(low.get(key, mailbox.request.offset), mailbox.request.offset)
        for arrival in mailbox.scores.values():
            rkey = (results_topic, arrival.score.partition)
            low[rkey] = min(low.get(rkey, arrival.score.offset), arrival.score.offset)
    for arrivals in core.orphans.values():
        for arrival in arrivals:
            rkey = (results_topic, arrival.score.partition)
            low[rkey] = min(low.get(rkey, arrival.score.offset), arrival.score.offset)
    return [Offset(t, p, o) for (t, p), o in low.items()]


def tombstones(
    marks: list[Offset],
    closed_pending: dict[int, dict[str, int]],
    requests_topic: str,
    state_topic: str,
) -> list[Outgoing]:
    """Tombstones for the closed requests these watermarks pass; they leave `closed_pending`."""
    out = []
    for tp in marks:
        if tp.topic != requests_topic:
            continue
        pending = closed_pending.get(tp.partition, {})
        for request_id, offset in list(pending.items()):
            if offset < tp.offset:
                del pending[request_id]
                out.append(state.tombstone(state_topic, tp.partition, request_id))
    return out


class CommittedMarks:
    """The offsets last handed to a commit, per partition: a commit carries only those that
    moved since, so an idle instance commits nothing."""

    def __init__(self) -> None:
        self._at: dict[tuple[str, int], int] = {}

    def moved(self, marks: list[Offset]) -> list[Offset]:
        return [m for m in marks if self._at.get((m.topic, m.partition)) != m.offset]

    def note(self, marks: list[Offset]) -> None:
        for m in marks:
            self._at[(m.topic, m.partition)] = m.offset

    def clear(self) -> None:
        """Forget them: after a rewind every offset is handed to the next commit again."""
        self._at.clear()
