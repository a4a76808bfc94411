"""The topics of the architecture: each one's default name bound to the schema of its values,
with their partition counts and cleanup policies. Services encode and decode by the topic they
read or write (`codec.decode(RESULTS.schema, ...)`), never by a schema name typed again."""

from __future__ import annotations

from dataclasses import dataclass

from rdv.kafka import TopicSpec


@dataclass(frozen=True)
class Topic:
    name: str  # the default; every service takes another from its settings
    schema: str  # the Avro record of its values, in schemas/

    def __str__(self) -> str:
        return self.name


REQUESTS = Topic("requests", "Request")
RESULTS = Topic("results", "Score")
ANSWERS = Topic("answers", "Answer")
RENDEZVOUS_LOG = Topic("rendezvous.log", "Record")
RENDEZVOUS_CONFIG = Topic("rendezvous.config", "RolloutConfig")
# The rendezvous's changelog holds its answers, with the entry's status in a header.
RENDEZVOUS_STATE = Topic("rendezvous.state", "Answer")
FEEDBACK = Topic("feedback", "Feedback")
DEAD_LETTERS = Topic("dead-letters", "DeadLetter")
ALL = (
    REQUESTS,
    RESULTS,
    ANSWERS,
    RENDEZVOUS_LOG,
    RENDEZVOUS_CONFIG,
    RENDEZVOUS_STATE,
    FEEDBACK,
    DEAD_LETTERS,
)

# librdkafka puts one partition in each produce request, so a batch spread over more
# partitions costs the broker more requests: on a 2-core machine with every role, 2 partitions
# instead of 6 cut the stack's CPU per request by a fifth to a quarter at 1,600-2,000 requests/s
# (docs/performance.md, "Two partitions by default"). More are for more instances of a role.
DEFAULT_PARTITIONS = 2
# Writers' Avro schemas, keyed by fingerprint (hex), values the schema's JSON: a reader meets a
# fingerprint it does not know (a client upgraded before it) and finds the schema here. Not
# Avro itself, so not in ALL.
SCHEMAS_TOPIC = "schemas"


def partition_count(chosen: int | None, existing: dict[str, int]) -> int:
    """The partition count for the architecture's topics: the one chosen, else that of the
    `requests` topic already there (a stack created under an older default keeps working),
    else the default."""
    if chosen is not None:
        return chosen
    return existing.get(REQUESTS.name, DEFAULT_PARTITIONS)


def architecture_topics(partitions: int = DEFAULT_PARTITIONS) -> list[TopicSpec]:
    """Every topic of ARCHITECTURE.md. requests and results share one partition count, since
    partition i of both must land on the same rendezvous instance; the keyed topics follow it
    so that one entity's messages stay together everywhere."""
    keyed = [REQUESTS, RESULTS, ANSWERS, RENDEZVOUS_LOG, FEEDBACK, DEAD_LETTERS]
    specs = [TopicSpec(topic.name, partitions) for topic in keyed]
    # The config is a log of versions under one key: compaction keeps the newest forever,
    # one partition keeps every reader's view of the versions in order, and the compaction
    # lag keeps 30 days of older versions as the rollout history.
    specs.append(
        TopicSpec(
            RENDEZVOUS_CONFIG.name,
            1,
            {"cleanup.policy": "compact", "min.compaction.lag.ms": str(30 * 86_400_000)},
        )
    )
    # The rendezvous's own changelog: which requests were answered or closed but may still be
    # read again after a crash. Keyed by request id, co-partitioned with requests, and
    # compacted, since every entry is deleted once its request can no longer come back.
    # Every restore reads it whole, so what it keeps is a take-over's wait. Every request
    # leaves a tombstone, which Kafka keeps a day by default; a deleted request needs it only
    # while a restore that began before the deletion reads (30 s at most). After 4 min at
    # 150 requests/s a restore read 108,000 records (0.54 s) with 10 min segments and a day's
    # tombstones; with 1 min of each, 35,671 (0.21 s) (`rdv bench state-restore`). A day
    # would hold ~13 M (projected).
    specs.append(
        TopicSpec(
            RENDEZVOUS_STATE.name,
            partitions,
            {"cleanup.policy": "compact", "segment.ms": "60000", "delete.retention.ms": "60000"},
        )
    )
    # One entry per schema version ever written: compacted, it never loses one.
    specs.append(TopicSpec(SCHEMAS_TOPIC, 1, {"cleanup.policy": "compact"}))
    return specs


# The schema of the values on each topic by its default name, for tools that read any of them.
SCHEMA_OF = {topic.name: topic.schema for topic in ALL}
