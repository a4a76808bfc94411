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


def test_fenced_after_the_transaction_outlived_its_timeout_is_kafka_s_own_abort() -> None:
    # Kafka aborts a transaction open past transaction.timeout.ms and bumps the epoch;
    # librdkafka then says "fenced by a newer instance" though no other instance runs.
    error = KafkaError(KafkaError._FENCED, "fenced", fatal=True)
    failure = TransactionFailure.of(error, open_s=10.5, timeout_s=10.0)
    assert failure.fatal and not failure.fenced
    assert "past its 10 s timeout" in str(failure)


def test_fenced_within_the_timeout_is_another_instance() -> None:
    error = KafkaError(KafkaError._FENCED, "fenced", fatal=True)
    assert TransactionFailure.of(error, open_s=9.9, timeout_s=10.0).fenced
