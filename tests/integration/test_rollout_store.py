"""Publishing rollout versions across a real broker: a compare-and-set, so that two publishers
never write the same version number."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from rdv.errors import ConfigError
from rdv.rollout.config import RolloutConfig
from rdv.rollout.store import publish, read_history
from rdv.settings import make_codec

pytestmark = pytest.mark.broker
CODEC = make_codec()


def test_a_change_based_on_an_old_version_is_refused(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(1, "config")
    first = publish(kafka_bootstrap, CODEC, RolloutConfig(champion="a@1"), None, "v1", topic)
    publish(kafka_bootstrap, CODEC, RolloutConfig(champion="a@2"), first, "v2", topic)
    with pytest.raises(ConfigError, match="version 2 was published after version 1"):
        publish(kafka_bootstrap, CODEC, RolloutConfig(champion="a@3"), first, "stale", topic)
    history = read_history(kafka_bootstrap, CODEC, topic)
    assert [(c.version, c.champion) for c in history] == [(1, "a@1"), (2, "a@2")]


def test_two_publishers_at_the_same_moment_never_write_one_version_twice(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    topic = new_topic(1, "config")
    base = publish(kafka_bootstrap, CODEC, RolloutConfig(champion="a@1"), None, "v1", topic)
    outcomes: dict[str, str] = {}
    start = threading.Barrier(3)

    def publisher(champion: str) -> None:
        start.wait()
        try:
            publish(kafka_bootstrap, CODEC, RolloutConfig(champion=champion), base, None, topic)
            outcomes[champion] = "published"
        except ConfigError as exc:
            outcomes[champion] = str(exc)

    threads = [threading.Thread(target=publisher, args=(m,)) for m in ("b@1", "c@1", "d@1")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    # Each was based on version 1: exactly one may become version 2, the others are told to
    # look again, whichever way they lost (fenced before the commit, or a newer version read).
    assert sorted(o == "published" for o in outcomes.values()) == [False, False, True], outcomes
    history = read_history(kafka_bootstrap, CODEC, topic)
    winner = next(m for m, o in outcomes.items() if o == "published")
    assert [(c.version, c.champion) for c in history] == [(1, "a@1"), (2, winner)]
    for outcome in outcomes.values():
        assert outcome == "published" or "run the command again" in outcome
