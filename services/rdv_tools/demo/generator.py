"""Login-bot traffic (seed 001): humans log in with few failures from old accounts; bots
hammer new accounts. Deterministic for a seed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from rdv.protocol import new_request

COUNTRIES = ("US", "FR", "DE", "BR", "IN")


def flat_features(request: dict[str, Any]) -> dict[str, Any]:
    """A request's features as a client sends them: one flat mapping of name to value."""
    return {**request["features"]["numeric"], **request["features"]["categorical"]}


def login_requests(
    count: int, seed: int = 0, bot_share: float = 0.2, users: int = 1000
) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for _ in range(count):
        bot = rng.random() < bot_share
        logins = rng.randint(4, 20) if bot else min(rng.expovariate(1.2), 6)
        age = rng.expovariate(1 / 5) if bot else rng.expovariate(1 / 600)
        country = rng.choice(COUNTRIES[:3]) if rng.random() < 0.9 else rng.choice(COUNTRIES)
        yield new_request(
            {"failed_logins": float(int(logins)), "account_age_days": round(age, 1)},
            {"country": country},
            key=f"user-{rng.randrange(users)}",
        )
