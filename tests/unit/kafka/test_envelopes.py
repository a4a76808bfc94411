"""What services see of Kafka messages: typed envelopes, headers by name, offsets to commit."""

from __future__ import annotations

from rdv.kafka import Message, Offset
from rdv.kafka.writers import native


def test_a_header_is_found_by_name_and_the_first_copy_wins() -> None:
    msg = Message("t", 0, 1, None, b"v", (("a", b"1"), ("b", None), ("a", b"2")))
    assert (msg.header("a"), msg.header("b"), msg.header("c")) == (b"1", None, None)


def test_the_content_type_is_text_when_given() -> None:
    json = Message("t", 0, 1, None, b"{}", (("content-type", b"application/json"),))
    assert json.content_type == "application/json"
    assert Message("t", 0, 1, None, b"x").content_type is None


def test_offsets_become_librdkafka_s_partitions_unchanged() -> None:
    [tp] = native([Offset("requests", 4, 1234)])
    assert (tp.topic, tp.partition, tp.offset) == ("requests", 4, 1234)
