"""The rendezvous's consumer group: requests, scores and feedback, read committed."""

from __future__ import annotations

from collections.abc import Callable

from rdv.kafka import Consumer, KafkaSettings, TopicPartition
from rdv.rendezvous.settings import RendezvousServiceSettings

OnPartitions = Callable[[list[TopicPartition]], None]


def static_member(settings: RendezvousServiceSettings) -> dict[str, str]:
    """A named instance's group membership survives its restarts (see `settings.named`); one
    stopped for good hands its partitions over after the session timeout."""
    return {"group.instance.id": f"rdv-rendezvous-{settings.instance}"} if settings.named else {}


def join_group(
    settings: RendezvousServiceSettings,
    bootstrap: str,
    kafka: KafkaSettings | None,
    on_assign: OnPartitions,
    on_revoke: OnPartitions,
    on_lost: OnPartitions,
    joined: bool = True,
) -> Consumer:
    """Subscribed at once (or, `joined` False, by `Consumer.join`); the group is joined in
    librdkafka's threads and the assignment served by a later poll."""
    return Consumer(
        bootstrap,
        settings.group_id,
        [settings.requests_topic, settings.results_topic, settings.feedback_topic],
        kafka,
        on_assign=on_assign,
        on_revoke=on_revoke,
        on_lost=on_lost,
        client_id="rdv-rendezvous",
        overrides={
            # Every partition of the three topics with the same number goes to one instance:
            # a request and its scores meet in one mailbox.
            "partition.assignment.strategy": "range",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "fetch.wait.max.ms": settings.fetch_wait_ms,
            "fetch.min.bytes": settings.fetch_min_bytes,
            **static_member(settings),
        },
        joined=joined,
    )
