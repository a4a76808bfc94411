"""Offsets stored only once what a micro-batch caused is delivered, in the order batches came.

The worker used to flush the producer after every micro-batch: a round trip to the broker
during which it read and scored nothing. Now it goes on with the next batch while the scores
of the last are in flight, and this ledger stores a batch's offsets when its last delivery
report arrives and every batch before it is stored too. Reports come on the worker's own
thread (from producer.poll), so nothing here needs a lock."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from rdv.kafka import Message, Outgoing


@dataclass
class _Batch:
    inputs: list[Message]
    left: int


class OpenBatch:
    """A batch whose outputs are still being sent (a worker hosting several models sends each
    model's scores as soon as that model has scored): it cannot be stored before `seal()`,
    however many of its deliveries have come back."""

    def __init__(self, ledger: DeliveryLedger, batch: _Batch) -> None:
        self._ledger = ledger
        self._batch = batch

    def expect(self, outputs: int) -> None:
        self._batch.left += outputs

    def delivered(self, _message: Outgoing, failure: str | None) -> None:
        if failure is not None and self._ledger.failure is None:
            self._ledger.failure = failure
        self._done()

    def seal(self) -> None:
        self._done()

    def _done(self) -> None:
        self._batch.left -= 1
        if self._batch.left == 0:
            self._ledger.drain()


class DeliveryLedger:
    def __init__(self, store: Callable[[list[Message]], None]) -> None:
        self._store = store
        self._batches: deque[_Batch] = deque()
        self.failure: str | None = None  # the first delivery that failed; nothing is stored after

    def open(self, inputs: list[Message]) -> OpenBatch:
        batch = _Batch(inputs, 1)  # the 1 is the batch itself, until it is sealed
        self._batches.append(batch)
        return OpenBatch(self, batch)

    def track(self, inputs: list[Message], outputs: int) -> Callable[[Outgoing, str | None], None]:
        """Register a batch that caused `outputs` messages; the callback to give each send."""
        batch = self.open(inputs)
        batch.expect(outputs)
        batch.seal()
        return batch.delivered

    @property
    def in_flight(self) -> int:
        """Batches whose offsets are not stored yet."""
        return len(self._batches)

    def drain(self) -> None:
        while self._batches and self._batches[0].left <= 0 and self.failure is None:
            self._store(self._batches.popleft().inputs)
