"""The state entries of the transaction being written, held until it commits.

A restore keeps only each request's last entry, and sees only committed transactions, so
within one transaction only a request's last entry matters: `answered` then `closed` then its
tombstone, written in one transaction, are worth nothing to anyone. Most requests are
answered, closed and committed past within one commit interval, so held here until the
commit, most of them write nothing at all to `rendezvous.state`, where each used to cost
three produces. A tombstone is written only for an entry that reached the topic in an earlier
transaction (or was restored from it); what the restore of a take-over reads shrinks with it.
"""

from __future__ import annotations

from collections.abc import Iterable

from rdv.kafka import Outgoing

Key = tuple[int, bytes]  # partition, message key


class StateChangelog:
    def __init__(self) -> None:
        self._pending: dict[Key, Outgoing] = {}
        # Entries on the topic (or written in a transaction still open) that a tombstone must
        # delete. One too many costs a needless tombstone; one too few would leave an entry
        # that every later restore reads again, so anything unsure is kept.
        self._on_topic: set[Key] = set()

    def put(self, message: Outgoing) -> None:
        """A state entry or tombstone for the transaction in progress; it replaces any the
        same request had in this transaction."""
        self._pending[(message.partition or 0, message.key or b"")] = message

    def restored(self, partition: int, keys: Iterable[str]) -> None:
        """Entries found on the topic by a restore: their tombstones must be written."""
        self._on_topic.update((partition, key.encode()) for key in keys)

    def take(self) -> list[Outgoing]:
        """What the transaction about to commit must carry: each request's last entry, and a
        tombstone only where an earlier entry is on the topic."""
        out = []
        for key, message in self._pending.items():
            if message.value is not None:
                out.append(message)
                self._on_topic.add(key)
            elif key in self._on_topic:
                out.append(message)
                self._on_topic.discard(key)
        self._pending.clear()
        return out

    def drop(self) -> None:
        """The transaction was abandoned: its requests are read and decided again."""
        self._pending.clear()

    def leave(self, partitions: Iterable[int]) -> None:
        """Partitions handed over: their next owner deletes their entries."""
        gone = set(partitions)
        self._on_topic = {key for key in self._on_topic if key[0] not in gone}
        self._pending = {k: m for k, m in self._pending.items() if k[0] not in gone}
