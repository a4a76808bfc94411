"""The rendezvous's Kafka loop.

One consumer group reads `requests`, `results` and `feedback` with the range assignor, which
gives partition i of every topic to the same instance. Each turn of the loop feeds what was
read to the decision core, fires its timers, and writes what it decided (answers, records,
state changes, dead letters) into the open Kafka transaction at once; every
`commit_interval_ms` the transaction commits with the consumed offsets, at the lowest offset
still needed by an open mailbox. After a crash, the state topic says which re-read requests
were answered or closed already, so a read_committed consumer sees each answer exactly once."""

from __future__ import annotations

import logging
import threading
import time

from rdv.codec import Codec
from rdv.dead_letters import dead_letter
from rdv.drift import CanaryDrift
from rdv.errors import DecodeError
from rdv.handover import go_on_after_taking_over
from rdv.kafka import (
    Consumer,
    ConsumerError,
    KafkaSettings,
    Message,
    Outgoing,
    Standby,
    TopicPartition,
)
from rdv.kafka.reader import PartitionReader
from rdv.metrics import serve_metrics
from rdv.rendezvous import state
from rdv.rendezvous.checkpoint import Checkpoint
from rdv.rendezvous.core import Action, DecisionCore, SendAnswer, SendRecord
from rdv.rendezvous.delivery import Delivery, open_delivery, standby_producer, taken_over
from rdv.rendezvous.group import join_group
from rdv.rendezvous.handover_clock import HandOverClock
from rdv.rendezvous.inputs import request_in, score_in, undecodable_request_in
from rdv.rendezvous.metrics import RendezvousMetrics
from rdv.rendezvous.outputs import WRITTEN_SCHEMAS, DecisionWriter
from rdv.rendezvous.settings import RendezvousServiceSettings
from rdv.rendezvous.turns import turn_wait
from rdv.rollout.config import RolloutConfig
from rdv.rollout.follow import RolloutFollower
from rdv.runtime import now_us, settle_heap
from rdv.topics import FEEDBACK, REQUESTS, RESULTS

log = logging.getLogger(__name__)


class RendezvousService:
    def __init__(
        self,
        settings: RendezvousServiceSettings,
        bootstrap: str,
        codec: Codec,
        kafka: KafkaSettings | None = None,
    ) -> None:
        self.settings, self.bootstrap, self.codec, self.kafka = settings, bootstrap, codec, kafka
        self.stopping = threading.Event()
        self.config: RolloutConfig | None = None
        self.core: DecisionCore | None = None
        self.metrics: RendezvousMetrics | None = None
        self.drift = CanaryDrift(settings.drift_reference, settings.drift_window)
        self.restored: dict[str, state.Entry] = {}
        self.checkpoint = Checkpoint(
            settings.requests_topic, settings.results_topic, settings.state_topic
        )
        self.outgoing: list[Outgoing] = []
        self._deferred = False  # a due commit waits for what was sent to be delivered
        self.clock = HandOverClock()  # started again once it takes over
        self.writer = DecisionWriter(codec, settings)
        self._last_commit = 0.0
        self._consumer: Consumer | None = None
        self._delivery: Delivery | None = None

    # -- configuration ----------------------------------------------------------------------
    def _config_refused(self, msg: Message, reason: str) -> None:
        if self.metrics:
            self.metrics.config_rejected.inc()
        self._dead_letter(msg, reason, "invalid_config")

    # -- rebalancing ------------------------------------------------------------------------
    def _fresh_core(self) -> DecisionCore:
        assert self.config is not None
        core = DecisionCore(
            self.config,
            late_tolerance_ms=self.settings.late_tolerance_ms,
            memory=self.settings.memory,
            margin_ms=self.settings.answer_margin_ms,
            absent_after_slas=self.settings.absent_after_slas,
        )
        return core  # evidence for Thompson sampling comes back from the state topic

    def _assigned(self, partitions: list[TopicPartition]) -> None:
        # The state must be final before it is restored. No rewind: a fresh assignment's
        # offsets are fetched once this returns.
        if self._delivery is not None:
            self._delivery.before_restore(self.stopping)
        owned = [tp.partition for tp in partitions if tp.topic == self.settings.requests_topic]
        if not owned:
            return
        began = time.monotonic()
        restored = state.restore_patiently(
            self.bootstrap,
            self.codec,
            self.settings.state_topic,
            owned,
            self.kafka,
            self.stopping,
        )
        for partition, entries in sorted(restored.entries.items()):
            self.restored.update(entries)
            self.checkpoint.restored(partition, entries)
        self.clock.restored(owned, began, sum(len(e) for e in restored.entries.values()))
        assert self.core is not None
        for partition, evidence in restored.evidence.items():
            self.core.posteriors.restore(partition, evidence)
        if self.metrics is not None and restored.evidence:
            self.metrics.posteriors(self.core.posteriors)

    def _revoked(self, partitions: list[TopicPartition]) -> None:
        # Hand over cleanly: what was decided is committed with the offsets, then forgotten;
        # the next owner restores it from the state topic.
        self._commit(due=True, wait=True)
        self._forget()
        self.checkpoint.leave(tp.partition for tp in partitions)

    def _lost(self, partitions: list[TopicPartition]) -> None:
        # The group moved on while we could not hear it: nothing decided since the last commit
        # can be committed now (the offsets would carry a dead generation), and waiting for the
        # transaction in flight could take as long as Kafka is away. Drop it all; whoever owns
        # the partitions next, this instance included, reads again from the committed offsets.
        log.warning(
            "lost %d partitions (session timed out): dropping what they held", len(partitions)
        )
        if self._delivery is not None:
            self._delivery.lost()
        self._forget()
        self.checkpoint.leave(tp.partition for tp in partitions)

    def _forget(self) -> None:
        """Drop everything not yet committed; it is read again from the committed offsets."""
        self.outgoing = []
        self.checkpoint.forget()
        self.writer.forget()
        self.core = self._fresh_core()
        self.restored.clear()

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> None:
        reader = PartitionReader(self.bootstrap, self.settings.config_topic, 0, self.kafka)
        rollout = RolloutFollower(self.codec, reader, self._config_refused)
        rollout.wait(self.stopping)
        self.config = rollout.config
        if self.config is None:
            return
        self.metrics = RendezvousMetrics(self.config.sla_ms)
        self.metrics.config_version.set(self.config.version)
        s = self.settings
        # Published with the first answer, the schemas held the first answers 0.5 s (measured
        # in a rolling upgrade: the whole hand-over's backlog answered late).
        self.codec.announce(*WRITTEN_SCHEMAS)
        standby = standby_producer(s, self.bootstrap, self.kafka)
        # Made now, so its group's coordinator is found; joined once the old one has exited
        # (its static membership would fence the old one's; the join was a hand-over's slowest
        # step, 0.08 s). Only now is the old one asked to stop: ready but for its producer and
        # group. Stopped before that, this one leaves them untouched.
        self._consumer = self._join(joined=False)
        # Before the old instance is asked to stop: the collection is off the hand-over's pause.
        settle_heap()
        if not go_on_after_taking_over(s.take_over_pid, s.take_over_timeout_s, self.stopping):
            self._consumer.close()  # never joined
            if standby is not None:
                standby.close()  # never initialised: it fenced nobody
            return
        self.clock.start()
        serve_metrics(self.metrics.registry, self.settings.metrics_port)
        self.core = self._fresh_core()
        if s.take_over_pid is None:
            # Fences any instance of this name before the group sees this one, so that one
            # whose consumer is fenced finds its producer fenced too, and stops (`_rejoin`).
            self._open_delivery(standby)
            self._consumer.join()
        else:
            # Joined first, so that the group is joined in librdkafka's threads while the
            # producer fences the old one (gone by now) and ends what it left open: one after
            # the other they took 0.19 s of a rolling upgrade's hand-over, side by side 0.11 s.
            self._consumer.join()
            self._open_delivery(standby)
        self.clock.producer_ready()
        try:
            while not self.stopping.is_set():
                try:
                    self._turn(rollout)
                except ConsumerError as exc:
                    self._rejoin(exc)
            self._commit(due=True, wait=True)
        finally:
            assert self._delivery is not None
            self._delivery.close()
            self._consumer.close()
            reader.close()
        log.info("stopped: transaction committed, group and producer closed")

    def _open_delivery(self, standby: Standby | None) -> None:
        # Before the poll that serves the assignment: the state is restored from a final topic.
        assert self._consumer is not None and self.metrics is not None
        self._delivery = open_delivery(
            self.settings,
            self.bootstrap,
            self.kafka,
            self.stopping,
            self.metrics.commit_seconds.observe,
            self._producer_replaced,
            standby,
            self._consumer,
        )

    def _rejoin(self, exc: ConsumerError) -> None:
        """A static member fenced by a newer instance of its name stops. Fenced by its own
        earlier session, which librdkafka can leave behind when Kafka restarts (seen in CI),
        it drops what it held and joins the group again with a new consumer."""
        assert self._delivery is not None and self._consumer is not None
        if not exc.fenced:
            raise exc
        if self._delivery.fenced_too():
            raise taken_over(self.settings.instance) from exc
        log.warning(
            "fenced in the group by a session of this instance's own name, its producer not "
            "fenced (no other instance runs as %r): joining the group again",
            self.settings.instance,
        )
        self._forget()
        self.checkpoint.start_over()
        self._consumer.close()
        self._consumer = self._join()
        self._delivery.attach(self._consumer)

    def _join(self, joined: bool = True) -> Consumer:
        hooks = (self._assigned, self._revoked, self._lost)
        return join_group(self.settings, self.bootstrap, self.kafka, *hooks, joined)

    def _turn(self, rollout: RolloutFollower) -> None:
        assert self.core is not None and self._consumer is not None
        wait = turn_wait(self.core.next_wakeup(), now_us(), bool(self.outgoing) or self._deferred)
        batch = self._consumer.poll_batch(self.settings.batch_max, wait)
        for msg in batch:
            self.checkpoint.read(msg)
            self._take(self._dispatch(msg))
        if batch and self.metrics:
            self.metrics.turn_messages.observe(len(batch))
        self._take(self.core.on_timer(now_us()))
        newer = rollout.read()
        if newer is not None:
            self.config = newer
            self.core.on_config(newer)
            if self.metrics:
                self.metrics.config_version.set(newer.version)
        self._commit(
            due=time.monotonic() - self._last_commit >= self.settings.commit_interval_ms / 1000
        )

    def _dispatch(self, msg: Message) -> list[Action]:
        assert self.core is not None
        now = now_us()
        if msg.topic == self.settings.results_topic:
            try:
                return self.core.on_score(
                    score_in(msg, self.codec.decode(RESULTS.schema, msg.value)), now
                )
            except DecodeError as exc:
                self._dead_letter(msg, exc.reason, "undecodable")
                return []
        if msg.topic == self.settings.feedback_topic:
            self._feedback(msg)
            return []
        try:
            request = request_in(
                msg, self.codec.decode(REQUESTS.schema, msg.value, msg.content_type, msg)
            )
        except DecodeError as exc:
            self._dead_letter(msg, exc.reason, "undecodable")
            request = undecodable_request_in(msg, exc.request_id)
        entry = self.restored.pop(request.request_id, None)
        if entry is not None and entry.status == state.CLOSED:
            self.checkpoint.closed(msg.partition, request.request_id, msg.offset)
            return []
        if entry is not None:
            return self.core.restore(request, entry.answer, now)
        return self.core.on_request(request, now)

    def _feedback(self, msg: Message) -> None:
        assert self.core is not None and self.metrics is not None
        try:
            fb = self.codec.decode(FEEDBACK.schema, msg.value, msg.content_type)
        except DecodeError as exc:
            self._dead_letter(msg, exc.reason, "undecodable")
            return
        outcomes = self.core.on_feedback(fb["request_id"], fb["label"], fb["value"], fb["reward"])
        self.metrics.feedback_joined(outcomes, self.core.posteriors)

    def _take(self, actions: list[Action]) -> None:
        assert self.metrics is not None and self.config is not None
        for action in actions:
            if isinstance(action, SendAnswer):
                self._emit(self.writer.answer(action))
                self.clock.answered()
                self.metrics.answered(action.answer, self.config.sla_ms)
            elif isinstance(action, SendRecord):
                record = action.record
                self._emit(self.writer.record(action))
                self.checkpoint.closed(action.partition, record["request_id"], action.offset)
                self.metrics.recorded(record)
                psi = self.drift.watch(record, self.config.canary)
                if psi is not None:
                    self.metrics.canary_psi.set(psi)

    def _emit(self, messages: list[Outgoing]) -> None:
        """Answers and records go out at once; state entries wait for the commit."""
        for message in messages:
            if message.topic == self.settings.state_topic:
                self.checkpoint.entry(message)
            else:
                self.outgoing.append(message)

    def _dead_letter(self, msg: Message, reason: str, error_type: str) -> None:
        self.outgoing.append(
            dead_letter(
                self.codec,
                msg,
                reason,
                error_type,
                "rendezvous",
                self.settings.instance,
                topic=self.settings.dead_letters_topic,
            )
        )
        if self.metrics:
            self.metrics.dead_letters.labels(topic=msg.topic).inc()

    # -- delivery ---------------------------------------------------------------------------
    def _commit(self, due: bool, wait: bool = False) -> None:
        """Send what was decided at once; when `due`, commit it with the consumed offsets (a
        commit in flight defers both). With `wait`, return once all decided is committed."""
        delivery = self._delivery
        assert delivery is not None
        if delivery.mended():
            self._rewind()
            return
        if not delivery.ready(wait):
            return
        # Begun once what was sent is delivered, a commit is short: new answers wait it out.
        self._deferred = due and not wait and not delivery.drained()
        due = (due and not self._deferred) or wait
        assert self.core is not None
        marks = self.checkpoint.marks(self.core) if due else []
        if delivery.write(self.outgoing):
            self.outgoing = []
        # Entries go after the answers they record (Delivery.write_state), else wait with them.
        entries = self.checkpoint.entries() if due else []
        if entries and not delivery.write_state(entries):
            self.outgoing += entries
        if due and delivery.commit(marks):
            self._last_commit = time.monotonic()
            self.checkpoint.committed(marks)
        if wait and delivery.finish():
            self._rewind()
        if self.metrics and self.core:
            self.metrics.open_mailboxes.set(len(self.core.mailboxes))

    def _producer_replaced(self, reason: str) -> None:
        """What the old producer held is gone with it: it is decided again after the rewind."""
        assert self.metrics is not None
        self.outgoing = []
        self.checkpoint.drop_entries()
        self.metrics.producer_replaced.labels(reason=reason).inc()

    def _rewind(self) -> None:
        """After an aborted transaction nothing it held happened: forget it all and read again
        from the committed offsets, as a restarted instance would."""
        assert self._consumer is not None
        self._forget()
        self._assigned(self._consumer.rewind(self.stopping))
