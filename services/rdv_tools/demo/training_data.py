"""Labelled login-bot data (seed 001): the generator behind `rdv data generate`, with knobs
for drift (bots that look more human) and for a share of bad records."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

COLUMNS = ["request_id", "failed_logins", "account_age_days", "country", "device", "label"]
COUNTRIES = ("US", "FR", "DE", "BR", "IN")
DEVICES = ("mobile", "desktop", "tablet")


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
        row: dict[str, Any] = {
            "request_id": f"r{seed}-{n}",
            "failed_logins": float(logins),
            "account_age_days": None if rng.random() < 0.05 else round(age, 1),
            "country": rng.choice(COUNTRIES),
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


def write_csv(path: Path, rows: Iterator[dict[str, Any]]) -> int:
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
    bootstrap: str, rows: Iterator[dict[str, Any]], requests_topic: str, feedback_topic: str
) -> int:
    """Each clean row as a Request, and a Feedback with its label; returns how many."""
    import time

    from rdv.kafka import Outgoing, Producer
    from rdv.protocol import new_request
    from rdv.settings import make_codec

    codec, producer, sent = make_codec(), Producer(bootstrap), 0
    for row in rows:
        logins = row["failed_logins"]
        if row["label"] is None or not isinstance(logins, float):
            continue  # a broken row has no place on a typed topic
        request = new_request(
            {"failed_logins": logins, "account_age_days": row["account_age_days"]},
            {"country": row["country"], "device": row["device"]},
            key=row["request_id"],
        )
        producer.send(
            Outgoing(requests_topic, codec.encode("Request", request), request["key"].encode())
        )
        feedback = {
            "request_id": request["request_id"],
            "key": request["key"],
            "label": row["label"],
            "value": None,
            "reward": None,
            "created_at": time.time_ns() // 1_000_000,
            "source": "rdv data generate",
        }
        producer.send(
            Outgoing(feedback_topic, codec.encode("Feedback", feedback), request["key"].encode())
        )
        sent += 1
    producer.flush()
    return sent
