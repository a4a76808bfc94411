"""When a failed transactional producer is replaced, and when the rendezvous stops instead."""

from __future__ import annotations

from rdv.errors import RendezvousError
from rdv.kafka import TransactionFailure

# A fatal error is met with a new producer, but not more often than this: a fault that comes
# straight back must stop the service loudly instead.
FATAL_LIMIT, FATAL_WINDOW_S = 3, 300.0


def check_fatal(
    failure: TransactionFailure, instance: str, fatal_at: list[float], now: float
) -> None:
    """Raise if a fatal failure is not one a new producer can mend: another instance took this
    transactional id, or fatal failures come back to back. Records `now` in `fatal_at`."""
    if failure.fenced:
        raise RendezvousError(
            f"another rendezvous runs as instance {instance!r} and took over its "
            "transactions: give each instance its own RDV_RENDEZVOUS_INSTANCE"
        )
    fatal_at[:] = [t for t in fatal_at if now - t < FATAL_WINDOW_S] + [now]
    if len(fatal_at) > FATAL_LIMIT:
        raise RendezvousError(
            f"the transactional producer failed for good {len(fatal_at)} times in "
            f"{FATAL_WINDOW_S:.0f} s, the last time with: {failure}"
        )
