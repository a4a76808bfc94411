"""Whether a producer sends fast enough that lingering pays.

A request crosses three produce hops, and at low rates every millisecond of `linger.ms` on
each is a millisecond on every answer (the three-hop floor went from p50 1.1 to 4.8 ms with 1
ms). At high rates the same linger is what lets a produce request, and every fetch of it,
carry several messages instead of one: at 1,600 requests/s with every role, 2 ms on the
client's and the workers' producers took the stack from ~1,220 to ~1,060 µs of CPU per request,
most of it the broker's (docs/performance.md). librdkafka fixes `linger.ms` when a client is
made, so a producer keeps a second, lingering client and sends through it while it is busy."""

from __future__ import annotations


class SendPace:
    """Sends counted in windows of `window_s`. Busy while the window before, or the one under
    way, holds at least `busy_per_s` x `window_s` sends; a window with none in it ends it."""

    def __init__(self, busy_per_s: float, window_s: float = 0.05) -> None:
        if busy_per_s <= 0 or window_s <= 0:
            raise ValueError("busy_per_s and window_s must be positive")
        self._limit = busy_per_s * window_s
        self._window_s = window_s
        self._window_end = float("-inf")
        self._count = 0
        self._before = 0  # the sends of the window before the one under way

    def send(self, now: float) -> bool:
        """Count a send at monotonic time `now`; whether the producer is busy."""
        if now >= self._window_end:
            # A window that ended more than one window ago was followed by an empty one.
            follows = now < self._window_end + self._window_s
            self._before = self._count if follows else 0
            self._count = 0
            self._window_end = now + self._window_s
        self._count += 1
        return self._before >= self._limit or self._count > self._limit
