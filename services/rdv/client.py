"""The Python client: send a request, get its one answer.

    with RendezvousClient() as client:
        answer = client.predict({"failed_logins": 7, "country": "FR"}, key="user-42")
        answer["score"], answer["label"], answer["model"], answer["reason"]

`submit` returns a Future, `predict_many` waits for a batch, `apredict` is the asyncio form.
Answers are read on a background thread from every partition of the answers topic,
read_uncommitted: an answer is seen as soon as the rendezvous writes it, not when its
transaction commits up to `commit_interval_ms` later, and the first answer per request id is
kept. After a rendezvous crash a client may thus have kept an answer whose transaction was
aborted; the repeat decided after recovery (which read_committed consumers see, once) is
dropped here. docs/reliability.md says what each kind of reader sees."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Self

from rdv.codec import Codec
from rdv.codec.json_input import split_features
from rdv.errors import DecodeError, RendezvousError
from rdv.kafka import KafkaSettings, Outgoing, Producer
from rdv.kafka.reader import TopicTail
from rdv.protocol import new_request
from rdv.settings import make_codec, resolve_bootstrap
from rdv.topics import ANSWERS, REQUESTS

Answer = dict[str, Any]


class AnswerTimeoutError(RendezvousError, TimeoutError):
    """No answer within the client's timeout (is the rendezvous running?)."""


class AnswerFuture(Future[Answer]):
    """The answer to come for one request; `request_id` names the request that was sent."""

    def __init__(self, request_id: str) -> None:
        super().__init__()
        self.request_id = request_id


class ReplyReader:
    """Requests out, replies in: a producer, a reader thread on every partition of the reply
    topic, and futures by request id. Subclasses say how a reply names its request."""

    def __init__(
        self,
        bootstrap: str,
        replies_topic: str,
        kafka: KafkaSettings | None = None,
        client_id: str = "rdv-client",
    ) -> None:
        # The client waits for its own answer: it need not wait for the transaction to commit.
        self._tail = TopicTail(bootstrap, replies_topic, kafka, committed_only=False)
        self._producer = Producer(bootstrap, kafka, client_id=client_id, linger_when_busy=True)
        self._pending: dict[str, Future[Answer]] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, name="rdv-answers", daemon=True)
        self._reader.start()

    def _reply(self, value: bytes | None) -> tuple[str, Answer] | None:
        """The request id a reply answers, and the answer; None for what is not a reply."""
        raise NotImplementedError

    def _read(self) -> None:
        while not self._closed.is_set():
            # Requests must not wait on a wedged Kafka client while nobody calls flush().
            self._producer.heal()
            for msg in self._tail.poll(0.1):
                reply = self._reply(msg.value)
                if reply is None:
                    continue
                with self._lock:
                    future = self._pending.pop(reply[0], None)
                if future is not None and not future.done():
                    future.set_result(reply[1])

    def _expect(self, request_id: str) -> AnswerFuture:
        future = AnswerFuture(request_id)
        with self._lock:
            self._pending[request_id] = future
        return future

    def forget(self, futures: Iterable[AnswerFuture]) -> None:
        """Stop waiting for these requests' answers (their caller gave up): a long-lived
        client, such as the gateway, would otherwise keep every timed-out request's future."""
        with self._lock:
            for future in futures:
                if self._pending.get(future.request_id) is future:
                    del self._pending[future.request_id]
                future.cancel()

    @property
    def waiting(self) -> int:
        """Requests sent whose answers are awaited."""
        with self._lock:
            return len(self._pending)

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every request sent is acknowledged (DeliveryError after `timeout`)."""
        self._producer.flush(timeout)

    def poll(self) -> None:
        """Hand queued requests on and serve delivery reports, without waiting."""
        self._producer.poll(0)

    def close(self) -> None:
        self._closed.set()
        self._reader.join(5)
        self._tail.close()
        self._producer.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class RendezvousClient(ReplyReader):
    def __init__(
        self,
        bootstrap: str | None = None,
        requests_topic: str = REQUESTS.name,
        answers_topic: str = ANSWERS.name,
        codec: Codec | None = None,
        kafka: KafkaSettings | None = None,
    ) -> None:
        self.bootstrap = resolve_bootstrap(bootstrap)
        self.requests_topic = requests_topic
        self.codec = codec or make_codec(bootstrap=self.bootstrap)
        super().__init__(self.bootstrap, answers_topic, kafka)
        self._producer.connect(requests_topic)
        self.codec.announce(REQUESTS.schema)

    def _reply(self, value: bytes | None) -> tuple[str, Answer] | None:
        try:
            answer = self.codec.decode(ANSWERS.schema, value)
        except DecodeError:
            return None
        return answer["request_id"], answer

    def submit(
        self, features: dict[str, Any], key: str | None = None, deadline_ms: int | None = None
    ) -> AnswerFuture:
        """Send one request; the future resolves to its Answer record."""
        split = split_features(features)
        request = new_request(
            split["numeric"], split["categorical"], key=key, deadline_ms=deadline_ms
        )
        future = self._expect(request["request_id"])
        self._producer.send(
            Outgoing(
                self.requests_topic,
                self.codec.encode(REQUESTS.schema, request),
                request["key"].encode(),
            )
        )
        return future

    def predict(
        self,
        features: dict[str, Any],
        timeout: float = 1.0,
        key: str | None = None,
        deadline_ms: int | None = None,
    ) -> Answer:
        """The answer to one request, or AnswerTimeoutError after `timeout` seconds."""
        future = self.submit(features, key, deadline_ms)
        self._producer.poll(0)
        try:
            return future.result(timeout)
        except FutureTimeout as exc:
            self.forget([future])
            raise AnswerTimeoutError(
                f"no answer within {timeout:g} s: is `rdv rendezvous` running on {self.bootstrap}?"
            ) from exc

    def predict_many(self, rows: list[dict[str, Any]], timeout: float = 5.0) -> list[Answer]:
        futures = [self.submit(row) for row in rows]
        self._producer.flush()
        try:
            return [f.result(timeout) for f in futures]
        except FutureTimeout as exc:
            missing = sum(not f.done() for f in futures)
            self.forget(futures)
            raise AnswerTimeoutError(
                f"{missing} of {len(rows)} answers missing after {timeout:g} s"
            ) from exc

    async def apredict(
        self, features: dict[str, Any], timeout: float = 1.0, key: str | None = None
    ) -> Answer:
        future = self.submit(features, key)
        self._producer.poll(0)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except TimeoutError as exc:
            self.forget([future])
            raise AnswerTimeoutError(f"no answer within {timeout:g} s") from exc
