"""Two transactional producers in turn, so answers never wait for a commit.

librdkafka's transactional producer takes no record while it commits (tens to hundreds of
milliseconds; more on a fresh or busy broker), and an answer decided meanwhile would wait for
the commit to end, outside the client's SLA. So the rendezvous has two producers, each with its
own transactional id: while one commits, the other's transaction takes what is decided. Their
records never interleave in time, so each partition holds them in decision order.

Commits stay in decision order too: a transaction is handed over to commit only once the one
before it committed. If that one failed, the open one is aborted as well (it was decided on top
of what failed) and the loop reads again from the committed offsets. So is an open transaction
whose predecessor's commit has run for half the transaction timeout (Kafka moving its
coordinator, say): Kafka would abort it at the timeout and fence its producer. A new instance
initialises both transactional ids, which ends whatever either left open: at most the later
transaction is lost, never committed without the earlier one."""

from __future__ import annotations

from rdv.kafka.envelopes import Offset, Outgoing
from rdv.kafka.writers import TransactionalWriter, TransactionFailure


class AlternatingWriter:
    def __init__(
        self, first: TransactionalWriter, second: TransactionalWriter, timeout_s: float
    ) -> None:
        self._writers = (first, second)
        self._current = 0  # the writer whose transaction takes what is sent
        self._timeout_s = timeout_s

    @property
    def _previous(self) -> TransactionalWriter:
        return self._writers[1 - self._current]

    @property
    def failure(self) -> TransactionFailure | None:
        first, second = self._writers
        failed = first.failure or second.failure
        open_for = self._writers[self._current].open_for
        if failed is None and self._previous.busy and open_for > self._timeout_s / 2:
            return TransactionFailure(
                f"the commit before it has run for {open_for:.1f} s: the open transaction "
                f"would outlive its {self._timeout_s:.0f} s timeout"
            )
        return failed

    def clear_failure(self) -> None:
        """Forget a failed commit, and abort the transaction decided after it: the loop reads
        both again from the committed offsets."""
        for writer in self._writers:
            writer.failure = None
        for writer in self._writers:
            writer.discard()

    @property
    def busy(self) -> bool:
        """A commit is in flight."""
        return any(writer.busy for writer in self._writers)

    @property
    def can_commit(self) -> bool:
        """The transaction before the open one has committed."""
        return not self._previous.busy and self.failure is None

    def send(self, outgoing: list[Outgoing]) -> bool:
        """Write these into the open transaction at once (False only once closed)."""
        return self._writers[self._current].send(outgoing)

    def submit(self, offsets: list[Offset]) -> bool:
        """Commit the open transaction with these consumed offsets, once the one before it has
        committed (False meanwhile: nothing taken); the other producer takes what follows."""
        if not self.can_commit:
            return False
        if not self._writers[self._current].submit(offsets):
            return False
        self._current = 1 - self._current
        return True

    @property
    def stuck_for(self) -> float:
        return max(writer.stuck_for for writer in self._writers)

    def wait_idle(self, timeout: float = 60.0) -> None:
        for writer in self._writers:
            writer.wait_idle(timeout)

    def abandon(self) -> None:
        for writer in self._writers:
            writer.abandon()

    def retire(self) -> None:
        for writer in self._writers:
            writer.retire()

    def close(self) -> None:
        for writer in self._writers:
            writer.close()
