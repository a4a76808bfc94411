"""Which consumer errors stop a service: librdkafka's fatal ones, however they arrive."""

from __future__ import annotations

from confluent_kafka import KafkaError

from rdv.kafka.consumer import _fatal, _is_fatal

# The event a static member got in CI after a broker restart; its fatal() flag is not set.
FENCED_EVENT = KafkaError(
    KafkaError._FATAL,
    "Fatal error: Broker: Static consumer fenced by other consumer with same group.instance.id",
)


def test_a_fatal_event_is_fatal_though_its_flag_is_not_set() -> None:
    assert not FENCED_EVENT.fatal()
    assert _is_fatal(FENCED_EVENT)


def test_a_fatal_event_that_names_a_fence_says_the_consumer_was_fenced() -> None:
    error = _fatal(FENCED_EVENT)
    assert error.fenced
    assert "Static consumer fenced" in str(error)


def test_a_fenced_instance_error_is_fenced_and_another_fatal_one_is_not() -> None:
    assert _fatal(KafkaError(KafkaError.FENCED_INSTANCE_ID, "fenced", fatal=True)).fenced
    assert not _fatal(KafkaError(KafkaError._FATAL, "Fatal error: something else")).fenced


def test_a_transient_error_is_not_fatal() -> None:
    assert not _is_fatal(KafkaError(KafkaError._TRANSPORT, "Disconnected"))
