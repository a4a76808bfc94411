"""The time window a command reads: `--since` and `--until` as moments or as ages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from rdv.errors import ConfigError

AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def moment(text: str, option: str, now: datetime | None = None) -> datetime:
    """An ISO 8601 moment (UTC unless it says otherwise: `2026-12-01T14:00`, `2026-12-01`)
    or an age before now (`90s`, `30m`, `2h`, `1d`)."""
    now = now or datetime.now(UTC)
    text = text.strip()
    age = AGE.match(text)
    if age:
        return now - timedelta(**{UNITS[age.group(2)]: float(age.group(1))})
    if text == "now":
        return now
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{option} {text!r} is neither a moment (2026-12-01T14:00, in UTC unless it says "
            "otherwise) nor an age (30m, 2h, 1d)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def window(since: str, until: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    now = now or datetime.now(UTC)
    start, end = moment(since, "--since", now), moment(until, "--until", now)
    if end <= start:
        raise ConfigError(
            f"--until ({end:%Y-%m-%dT%H:%M:%S}) must come after --since ({start:%Y-%m-%dT%H:%M:%S})"
        )
    return start, end
