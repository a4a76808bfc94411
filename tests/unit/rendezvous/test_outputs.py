"""What a decision writes: the answer, its record, and the two state entries that say, after a
crash, whether a re-read request was answered or closed."""

from __future__ import annotations

from rdv import protocol
from rdv.codec import Codec
from rdv.kafka import Outgoing
from rdv.messages import Answer
from rdv.rendezvous import state
from rdv.rendezvous.core import Action, SendAnswer, SendRecord
from rdv.rendezvous.outputs import DecisionWriter
from rdv.rendezvous.settings import RendezvousServiceSettings
from tests.unit.rendezvous.sim import Sim, request, score

CODEC = Codec()
SETTINGS = RendezvousServiceSettings()


def decided(rid: str) -> tuple[SendAnswer, SendRecord]:
    """A request answered by the champion, then closed when every model has scored."""
    sim = Sim().at(0)
    actions: list[Action] = sim.core.on_request(request(rid), sim.now)
    for model in ("m@2", "m@3", "fast@1", "m@1", "m@4"):
        actions += sim.core.on_score(score(rid, model), sim.now)
    actions += sim.core.on_timer(sim.now + 1_000_000)
    [answer] = [a for a in actions if isinstance(a, SendAnswer)]
    [record] = [a for a in actions if isinstance(a, SendRecord)]
    return answer, record


def entry(messages: list[Outgoing], status: bytes) -> Answer:
    """The answer a request's state entry holds, once its status is checked."""
    [msg] = [m for m in messages if m.topic == SETTINGS.state_topic]
    assert dict(msg.headers or ())[protocol.STATE] == status
    return Answer.from_avro(CODEC.decode("Answer", msg.value))


def test_both_state_entries_hold_the_answer_that_was_sent() -> None:
    answer, record = decided("r1")
    writer = DecisionWriter(CODEC, SETTINGS)
    sent = writer.answer(answer)
    closed = writer.record(record)
    [to_client] = [m for m in sent if m.topic == SETTINGS.answers_topic]
    assert Answer.from_avro(CODEC.decode("Answer", to_client.value)) == answer.answer
    assert entry(sent, state.ANSWERED) == answer.answer
    assert entry(closed, state.CLOSED) == answer.answer
    [log] = [m for m in closed if m.topic == SETTINGS.log_topic]
    assert CODEC.decode("Record", log.value)["request_id"] == "r1"


def test_an_answer_restored_after_a_restart_is_closed_with_its_own_bytes() -> None:
    _, record = decided("r2")
    writer = DecisionWriter(CODEC, SETTINGS)  # a new process: it never sent this answer
    assert entry(writer.record(record), state.CLOSED) == record.answer


def test_an_answer_forgotten_with_its_partition_is_encoded_again_when_closed() -> None:
    answer, record = decided("r3")
    writer = DecisionWriter(CODEC, SETTINGS)
    writer.answer(answer)
    writer.forget()
    assert entry(writer.record(record), state.CLOSED) == answer.answer
