"""From a micro-batch of request messages to the messages a worker writes: pure, no Kafka."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import cast

from rdv import protocol
from rdv.codec import Codec
from rdv.dead_letters import dead_letter
from rdv.errors import DecodeError
from rdv.kafka import Message, Outgoing
from rdv.messages import ModelRef, Request, Score
from rdv.model import ModelArtifact, Prediction, ScoreFailure, Scorer
from rdv.runtime import now_us
from rdv.topics import REQUESTS, RESULTS
from rdv.worker.settings import WorkerSettings


@dataclass
class Decoded:
    """A micro-batch decoded once, for every model a worker hosts."""

    requests: list[tuple[Message, Request]] = field(default_factory=list)
    # Each with the reason why, and the request's own id when it could still be read.
    undecodable: list[tuple[Message, str, str | None]] = field(default_factory=list)
    received_us: int = 0


def decode_batch(codec: Codec, batch: list[Message]) -> Decoded:
    decoded = Decoded(received_us=now_us())
    for msg in batch:
        try:
            record = cast(Request, codec.decode(REQUESTS.schema, msg.value, msg.content_type, msg))
        except DecodeError as exc:
            decoded.undecodable.append((msg, exc.reason, exc.request_id))
            continue
        decoded.requests.append((msg, record))
    return decoded


@dataclass
class BatchOutcome:
    outgoing: list[Outgoing] = field(default_factory=list)
    scored: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    eval_seconds: float = 0.0


class BatchScorer:
    """Decodes requests, scores the good ones in one pass, and builds one Score per message
    (an error Score where there is nothing to give) plus a DeadLetter per bad message."""

    def __init__(
        self,
        artifact: ModelArtifact,
        settings: WorkerSettings,
        codec: Codec,
        rng: random.Random | None = None,
        role: str | None = None,
    ) -> None:
        """`role` annotates this model's scores (default: the settings' role, which is the
        first model's when a worker hosts several)."""
        self.artifact = artifact
        self.scorer = Scorer(artifact)
        self.settings = settings
        self.codec = codec
        self.rng = rng or random.Random()
        self.headers = (
            (protocol.MODEL, artifact.model_id.encode()),
            (protocol.MODEL_NAME, artifact.name.encode()),
            (protocol.MODEL_VERSION, artifact.version.encode()),
        )
        self.model_ref: ModelRef = {
            "name": artifact.name,
            "version": artifact.version,
            "instance": settings.instance,
            "role": role or settings.role,
        }

    def handle(self, batch: list[Message]) -> BatchOutcome:
        return self.score(decode_batch(self.codec, batch))

    def score(self, decoded: Decoded, dead_letter_undecodable: bool = True) -> BatchOutcome:
        """Every message gets this model's Score. An undecodable one also gets a dead letter,
        unless another model of the same worker already sent it (one per message is enough).
        """
        received_us = decoded.received_us
        outcome = BatchOutcome()
        for msg, reason, own_id in decoded.undecodable:
            self._refuse(
                outcome,
                msg,
                None,
                "undecodable",
                reason,
                received_us,
                to_dead_letters=dead_letter_undecodable,
                request_id=own_id,
            )
        requests = decoded.requests
        if not requests:
            return outcome
        if self.settings.delay_ms:
            time.sleep(self.settings.delay_ms / 1000)
        started = time.perf_counter()
        results = self.scorer.score([record["features"] for _, record in requests])
        outcome.eval_seconds = time.perf_counter() - started
        eval_us = int(outcome.eval_seconds * 1e6)
        for (msg, record), result in zip(requests, results, strict=True):
            if self.settings.fail_rate and self.rng.random() < self.settings.fail_rate:
                # Injected faults are the model's, not the message's: no dead letter.
                injected = ScoreFailure("model_error", "injected failure (--fail-rate)")
                self._count(outcome, injected.code)
                outcome.outgoing.append(self._score(msg, record, injected, received_us, eval_us))
            elif isinstance(result, ScoreFailure):
                self._refuse(
                    outcome, msg, record, result.code, result.message, received_us, eval_us
                )
            else:
                outcome.scored += 1
                outcome.outgoing.append(self._score(msg, record, result, received_us, eval_us))
        return outcome

    @staticmethod
    def _count(outcome: BatchOutcome, code: str) -> None:
        outcome.errors[code] = outcome.errors.get(code, 0) + 1

    def _refuse(
        self,
        outcome: BatchOutcome,
        msg: Message,
        record: Request | None,
        code: str,
        reason: str,
        received_us: int,
        eval_us: int = 0,
        to_dead_letters: bool = True,
        request_id: str | None = None,
    ) -> None:
        self._count(outcome, code)
        outcome.outgoing.append(
            self._score(msg, record, ScoreFailure(code, reason), received_us, eval_us, request_id)
        )
        if not to_dead_letters:
            return
        outcome.dead_letters += 1
        outcome.outgoing.append(
            dead_letter(
                self.codec,
                msg,
                f"{self.artifact.model_id}: {reason}",
                code,
                "worker",
                self.settings.instance,
                topic=self.settings.dead_letters_topic,
            )
        )

    def _score(
        self,
        msg: Message,
        record: Request | None,
        result: Prediction | ScoreFailure,
        received_us: int,
        eval_us: int,
        own_id: str | None = None,
    ) -> Outgoing:
        key = record["key"] if record else (msg.key or b"").decode(errors="replace")
        score: Score = {
            # An undecodable request is named by its own id where that could be read (the
            # rendezvous answers under it too), else by its position, which is unique.
            "request_id": record["request_id"]
            if record
            else own_id or protocol.undecodable_id(msg.topic, msg.partition, msg.offset),
            "key": key,
            "model": self.model_ref,
            "score": None,
            "label": None,
            "probabilities": None,
            "error": None,
            "request_created_at": record["created_at"] if record else 0,
            "received_at": received_us,
            "scored_at": now_us(),
            "eval_latency_us": eval_us,
            "input_partition": msg.partition,
            "input_offset": msg.offset,
        }
        if isinstance(result, Prediction):
            score["score"], score["label"] = result.score, result.label
            score["probabilities"] = list(result.probabilities) if result.probabilities else None
        else:
            score["error"] = {"code": result.code, "message": result.message}
        return Outgoing(
            self.settings.results_topic,
            self.codec.encode(RESULTS.schema, score),
            key=msg.key,
            headers=self.headers,
            partition=msg.partition,
        )
