"""The login-bot population (seed 001), the demo's one source of data: humans log in with few
failures from old accounts; bots hammer new accounts. `login_rows` are labelled rows for
training (`rdv data generate`), `login_requests` the same population as Requests for traffic
(`rdv produce`, the benchmarks, `rdv up`'s story). Deterministic for a seed."""

from __future__ import annotations

import csv
import random
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from rdv.protocol import new_request

COUNTRIES = ("US", "FR", "DE", "BR", "IN")
# Most traffic comes from the first three, which the example models know; the others test how
# a model meets a category it never saw.
USUAL_COUNTRIES = COUNTRIES[:3]
DEVICES = ("mobile", "desktop", "tablet")
COLUMNS = ["request_id", "failed_logins", "account_age_days", "country", "device", "label"]


def login_rows(
    count: int, seed: int = 0, bot_share: float = 0.25, drift: float = 0.0, bad_share: float = 0.0
) -> Iterator[dict[str, Any]]:
    """Rows with a `label` (bot / human). `drift` in [0, 1] moves bots towards humans;
    `bad_share` of rows are broken the ways real feeds break (a missing label, a text where a
    number belongs, a negative count)."""
    rng = random.Random(seed)
    for n in range(count):
        bot = rng.random() < bot_share
        logins = rng.randint(3, 15) if bot else rng.randint(0, 4)
        logins = round(logins * (1 - drift) + rng.randint(0, 4) * drift)
        age = rng.expovariate(1 / (5 + 400 * drift)) if bot else rng.expovariate(1 / 500)
        usual = rng.random() < 0.9
        row: dict[str, Any] = {
            "request_id": f"r{seed}-{n}",
            "failed_logins": float(logins),
            "account_age_days": None if rng.random() < 0.05 else round(age, 1),
            "country": rng.choice(USUAL_COUNTRIES if usual else COUNTRIES),
            "device": rng.choice(DEVICES),
            "label": "bot" if bot else "human",
        }
        if rng.random() < bad_share:
            broken = rng.choice(["label", "failed_logins", "negative"])
            if broken == "label":
                row["label"] = None
            elif broken == "failed_logins":
                row["failed_logins"] = "many"
            else:
                row["failed_logins"] = -1.0
        yield row


def as_request(row: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    """A clean row as the Request a client would send (its label stays behind)."""
    return new_request(
        {"failed_logins": row["failed_logins"], "account_age_days": row["account_age_days"]},
        {"country": row["country"], "device": row["device"]},
        key=key or row["request_id"],
    )


def login_requests(
    count: int, seed: int = 0, bot_share: float = 0.2, users: int = 1000
) -> Iterator[dict[str, Any]]:
    """Requests from `users` accounts (the key), in the population of `login_rows`."""
    keys = random.Random(seed + 1_000_003)
    for row in login_rows(count, seed, bot_share):
        yield as_request(row, key=f"user-{keys.randrange(users)}")


def flat_features(request: dict[str, Any]) -> dict[str, Any]:
    """A request's features as a client sends them: one flat mapping of name to value."""
    return {**request["features"]["numeric"], **request["features"]["categorical"]}


def write_csv(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def produce_rows(
    bootstrap: str, rows: Iterable[dict[str, Any]], requests_topic: str, feedback_topic: str
) -> int:
    """Each clean row as a Request, and a Feedback with its label; returns how many."""
    from rdv.kafka import Outgoing, Producer
    from rdv.settings import make_codec
    from rdv.topics import FEEDBACK, REQUESTS

    codec, producer, sent = make_codec(), Producer(bootstrap), 0
    for row in rows:
        if row["label"] is None or not isinstance(row["failed_logins"], float):
            continue  # a broken row has no place on a typed topic
        request = as_request(row)
        key = request["key"].encode()
        producer.send(Outgoing(requests_topic, codec.encode(REQUESTS.schema, request), key))
        feedback = {
            "request_id": request["request_id"],
            "key": request["key"],
            "label": row["label"],
            "value": None,
            "reward": None,
            "created_at": time.time_ns() // 1_000_000,
            "source": "rdv data generate",
        }
        producer.send(Outgoing(feedback_topic, codec.encode(FEEDBACK.schema, feedback), key))
        sent += 1
    producer.flush()
    return sent
