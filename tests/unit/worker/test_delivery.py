"""Offsets are stored only after a batch's scores are delivered, and in batch order."""

from __future__ import annotations

from rdv.kafka import Message, Outgoing
from rdv.worker.delivery import DeliveryLedger

SCORE = Outgoing("results", b"score")


def batch(*offsets: int) -> list[Message]:
    return [Message("requests", 0, o, None, b"") for o in offsets]


def test_a_batch_is_stored_once_its_last_score_is_delivered() -> None:
    stored: list[list[int]] = []
    ledger = DeliveryLedger(lambda ms: stored.append([m.offset for m in ms]))
    delivered = ledger.track(batch(0, 1), 2)
    delivered(SCORE, None)
    assert stored == [] and ledger.in_flight == 1
    delivered(SCORE, None)
    assert stored == [[0, 1]] and ledger.in_flight == 0


def test_a_later_batch_delivered_first_waits_for_the_earlier_one() -> None:
    stored: list[list[int]] = []
    ledger = DeliveryLedger(lambda ms: stored.append([m.offset for m in ms]))
    first, second = ledger.track(batch(0), 1), ledger.track(batch(1), 1)
    second(SCORE, None)
    assert stored == []
    first(SCORE, None)
    assert stored == [[0], [1]]


def test_a_batch_that_caused_nothing_is_stored_in_its_turn() -> None:
    stored: list[list[int]] = []
    ledger = DeliveryLedger(lambda ms: stored.append([m.offset for m in ms]))
    first = ledger.track(batch(0), 1)
    ledger.track(batch(1, 2), 0)  # every request in it had expired
    assert stored == []
    first(SCORE, None)
    assert stored == [[0], [1, 2]]


def test_after_a_failed_delivery_nothing_more_is_stored() -> None:
    stored: list[list[int]] = []
    ledger = DeliveryLedger(lambda ms: stored.append([m.offset for m in ms]))
    first, second = ledger.track(batch(0), 1), ledger.track(batch(1), 1)
    first(SCORE, "results: broker down")
    second(SCORE, None)
    assert stored == [] and ledger.failure == "results: broker down"


def test_an_open_batch_is_not_stored_before_it_is_sealed() -> None:
    # A worker hosting two models sends the first model's scores before the second has
    # scored: their deliveries alone must not store the batch.
    stored: list[list[int]] = []
    ledger = DeliveryLedger(lambda ms: stored.append([m.offset for m in ms]))
    pending = ledger.open(batch(0, 1))
    pending.expect(2)
    pending.delivered(SCORE, None)
    pending.delivered(SCORE, None)
    assert stored == [] and ledger.in_flight == 1
    pending.expect(2)
    pending.delivered(SCORE, None)
    pending.seal()
    assert stored == []
    pending.delivered(SCORE, None)
    assert stored == [[0, 1]] and ledger.in_flight == 0
