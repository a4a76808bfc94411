"""Which models are absent: asked for scores on a partition and silent there for longer than a
limit while a request waited (killed, stopped, restarting). The decision core stops holding
answers back for them, so the next tier answers as soon as it can.

By partition, since results are partitioned as requests are: a replica of a model serves some
partitions, and one that died leaves only its own silent. The clock runs only while a request
waits, so quiet traffic is never absence."""

from __future__ import annotations

from collections import OrderedDict


class Absence:
    def __init__(self, after_slas: float, sla_ms: int) -> None:
        self.after_slas = after_slas  # 0: nobody is ever absent
        self.limit_us = 0
        self.sla_is(sla_ms)
        # partition -> open requests (id -> when opened), oldest first.
        self._waiting: dict[int, OrderedDict[str, int]] = {}
        self._heard: dict[tuple[str, int], int] = {}  # (model, partition) -> last score

    def sla_is(self, sla_ms: int) -> None:
        """The limit follows the SLA, so a config that changes the SLA moves it too."""
        self.limit_us = int(self.after_slas * sla_ms * 1000)

    def opened(self, request_id: str, partition: int, now: int) -> None:
        self._waiting.setdefault(partition, OrderedDict())[request_id] = now

    def closed(self, request_id: str, partition: int) -> None:
        waiting = self._waiting.get(partition)
        if waiting is not None:
            waiting.pop(request_id, None)

    def heard(self, model: str, partition: int, now: int) -> None:
        self._heard[(model, partition)] = now

    def absent(self, model: str, partition: int, now: int) -> bool:
        """Silent on `partition` since its oldest open request came, longer than the limit
        ago. (If that request has the model's score, the model counts as heard: detection
        then waits for it to close, a grace period at most.)"""
        waiting = self._waiting.get(partition)
        if not self.limit_us or not waiting:
            return False
        oldest = next(iter(waiting.values()))
        return now - oldest > self.limit_us and self._heard.get((model, partition), -1) < oldest
