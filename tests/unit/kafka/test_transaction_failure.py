"""What the rendezvous's loop learns of a failed transaction from librdkafka's error."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from rdv.kafka import TransactionFailure


@pytest.mark.parametrize("code", [KafkaError._FENCED, KafkaError.PRODUCER_FENCED])
def test_librdkafka_s_fenced_errors_read_as_fenced(code: int) -> None:
    assert TransactionFailure.of(KafkaError(code, "fenced", fatal=True)).fenced


def test_another_fatal_error_is_not_fenced() -> None:
    failure = TransactionFailure.of(
        KafkaError(KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER, "x", fatal=True)
    )
    assert failure.fatal and not failure.fenced
