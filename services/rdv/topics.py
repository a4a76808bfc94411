"""The topics of the architecture, with their partition counts and cleanup policies."""

from __future__ import annotations

from rdv.kafka import TopicSpec

REQUESTS = "requests"
RESULTS = "results"
ANSWERS = "answers"
RENDEZVOUS_LOG = "rendezvous.log"
RENDEZVOUS_CONFIG = "rendezvous.config"
RENDEZVOUS_STATE = "rendezvous.state"
FEEDBACK = "feedback"
DEAD_LETTERS = "dead-letters"

DEFAULT_PARTITIONS = 6


def architecture_topics(partitions: int = DEFAULT_PARTITIONS) -> list[TopicSpec]:
    """Every topic of ARCHITECTURE.md. requests and results share one partition count, since
    partition i of both must land on the same rendezvous instance; the keyed topics follow it
    so that one entity's messages stay together everywhere."""
    keyed = [REQUESTS, RESULTS, ANSWERS, RENDEZVOUS_LOG, FEEDBACK, DEAD_LETTERS]
    specs = [TopicSpec(name, partitions) for name in keyed]
    # The config is a log of versions under one key: compaction keeps the newest forever,
    # one partition keeps every reader's view of the versions in order, and the compaction
    # lag keeps 30 days of older versions as the rollout history.
    specs.append(
        TopicSpec(
            RENDEZVOUS_CONFIG,
            1,
            {"cleanup.policy": "compact", "min.compaction.lag.ms": str(30 * 86_400_000)},
        )
    )
    # The rendezvous's own changelog: which requests were answered or closed but may still be
    # read again after a crash. Keyed by request id, co-partitioned with requests, and
    # compacted, since every entry is deleted once its request can no longer come back.
    specs.append(
        TopicSpec(
            RENDEZVOUS_STATE, partitions, {"cleanup.policy": "compact", "segment.ms": "600000"}
        )
    )
    return specs


# The schema of the values on each topic, for tools that read any of them.
SCHEMA_OF = {
    REQUESTS: "Request",
    RESULTS: "Score",
    ANSWERS: "Answer",
    RENDEZVOUS_LOG: "Record",
    RENDEZVOUS_CONFIG: "RolloutConfig",
    FEEDBACK: "Feedback",
    DEAD_LETTERS: "DeadLetter",
}
