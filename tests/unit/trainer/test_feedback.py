from rdv.codec import Codec
from rdv.kafka import Message
from rdv.topics import FEEDBACK
from rdv.trainer.sources import latest_feedback


def feedback(offset: int, request_id: str, label: str) -> Message:
    value = Codec().encode(
        FEEDBACK.schema,
        {"request_id": request_id, "key": request_id, "label": label, "created_at": 0},
    )
    return Message("feedback", 0, offset, request_id.encode(), value)


def test_the_last_word_per_request_counts_and_undecodable_feedback_is_skipped() -> None:
    messages = [
        feedback(0, "r1", "fraud"),
        feedback(1, "r2", "ok"),
        Message("feedback", 0, 2, b"r1", b"\x00not avro"),
        feedback(3, "r1", "ok"),  # a correction: the later label wins
    ]
    latest = latest_feedback(messages, Codec())
    assert {rid: fb["label"] for rid, fb in latest.items()} == {"r1": "ok", "r2": "ok"}
