"""The rollout config in force, followed on its topic: a newer valid version replaces it, an
invalid one is refused (the caller dead-letters it) and the last good one stays."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from rdv.codec import Codec
from rdv.errors import ConfigError, DecodeError
from rdv.kafka import Message
from rdv.kafka.reader import PartitionReader
from rdv.rollout.config import RolloutConfig
from rdv.rollout.store import decode_config

log = logging.getLogger(__name__)

Refused = Callable[[Message, str], None]


class RolloutFollower:
    def __init__(self, codec: Codec, reader: PartitionReader, refused: Refused) -> None:
        self.config: RolloutConfig | None = None
        self._codec, self._reader, self._refused = codec, reader, refused

    def read(self, timeout: float = 0) -> RolloutConfig | None:
        """A config newer than the one in force, if one came (the newest of them)."""
        newer = None
        for msg in self._reader.poll(timeout):
            newer = self._apply(msg) or newer
        return newer

    def catch_up(self) -> None:
        """Read what the topic holds now: its newest valid config is in force."""
        for msg in self._reader.read_to_end():
            self._apply(msg)

    def wait(self, stopping: threading.Event) -> None:
        """Until a valid config is in force (or `stopping` is set)."""
        self.catch_up()
        warned = False
        while self.config is None and not stopping.is_set():
            if not warned:
                log.warning(
                    "no valid rollout config on %s yet: publish one with `rdv rollout set FILE`",
                    self._reader.topic,
                )
                warned = True
            self.read(0.5)

    def close(self) -> None:
        self._reader.close()

    def _apply(self, msg: Message) -> RolloutConfig | None:
        try:
            config = decode_config(self._codec, msg.value)
        except (DecodeError, ConfigError) as exc:
            reason = exc.reason if isinstance(exc, DecodeError) else str(exc)
            log.error("refusing rollout config at offset %d: %s", msg.offset, reason)
            self._refused(msg, reason)
            return None
        if self.config and config.version <= self.config.version:
            return None
        log.info(
            "rollout config v%d in force: champion %s, mode %s",
            config.version,
            config.champion,
            config.mode,
        )
        self.config = config
        return config
