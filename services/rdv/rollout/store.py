"""The rollout config topic: every version, compacted under one key, read by every instance."""

from __future__ import annotations

import getpass
import logging
import socket
import time

from rdv.codec import Codec
from rdv.errors import ConfigError, DecodeError
from rdv.kafka import KafkaSettings, Outgoing
from rdv.kafka.exclusive import RaceLostError, write_exclusively
from rdv.kafka.reader import PartitionReader
from rdv.rollout.config import RolloutConfig
from rdv.topics import RENDEZVOUS_CONFIG

log = logging.getLogger(__name__)
CONFIG_KEY = b"rollout"


def decode_config(codec: Codec, value: bytes | None) -> RolloutConfig:
    """A config from the topic, validated again: what another tool wrote may be wrong."""
    record = codec.decode(RENDEZVOUS_CONFIG.schema, value)
    return RolloutConfig.from_record(record).validated()


def read_history(
    bootstrap: str,
    codec: Codec,
    topic: str = RENDEZVOUS_CONFIG.name,
    kafka: KafkaSettings | None = None,
) -> list[RolloutConfig]:
    """Every valid version still on the topic, oldest first (invalid ones are skipped)."""
    reader = PartitionReader(bootstrap, topic, 0, kafka)
    try:
        messages = reader.read_to_end()
    finally:
        reader.close()
    history: list[RolloutConfig] = []
    for msg in messages:
        try:
            config = decode_config(codec, msg.value)
        except (DecodeError, ConfigError) as exc:
            log.warning("skipping rollout config at offset %d: %s", msg.offset, exc)
            continue
        if not history or config.version > history[-1].version:
            history.append(config)
    return history


def publish(
    bootstrap: str,
    codec: Codec,
    config: RolloutConfig,
    previous: RolloutConfig | None,
    comment: str | None = None,
    topic: str = RENDEZVOUS_CONFIG.name,
    kafka: KafkaSettings | None = None,
) -> RolloutConfig:
    """Validate, number and publish a new version, the one after `previous`; returns it as
    published. A compare-and-set: if the topic's newest version is no longer `previous` (another
    publisher came first, even at the same moment), nothing is written and a ConfigError says
    so, because the change was decided against a config that is no longer in force."""
    based_on = previous.version if previous else 0
    stamped = config.evolve(
        version=based_on + 1,
        author=f"{getpass.getuser()}@{socket.gethostname()}",
        published_at=time.time_ns() // 1_000_000,
        comment=comment if comment is not None else config.comment,
    ).validated()

    def unchanged_since_read() -> Outgoing:
        history = read_history(bootstrap, codec, topic, kafka)
        newest = history[-1].version if history else 0
        if newest != based_on:
            raise ConfigError(
                f"rollout version {newest} was published after version {based_on}, which this "
                "change was based on; see `rdv rollout show` and run the command again"
            )
        return Outgoing(
            topic, codec.encode(RENDEZVOUS_CONFIG.schema, stamped.to_record()), CONFIG_KEY
        )

    try:
        write_exclusively(bootstrap, kafka, f"rdv-rollout-{topic}", unchanged_since_read)
    except RaceLostError as exc:
        raise ConfigError(
            f"another rollout was being published at the same moment ({exc}); see "
            "`rdv rollout show` and run the command again"
        ) from exc
    return stamped
