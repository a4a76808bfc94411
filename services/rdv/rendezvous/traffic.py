"""Choosing the preferred model of a request: fixed, sticky split, or Thompson sampling."""

from __future__ import annotations

import hashlib
import random

from rdv.rollout.config import RolloutConfig


def key_position(key: str) -> float:
    """A stable point in [0, 1) for a key: the same key always lands on the same model."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class Posteriors:
    """Beta(alpha, beta) per model, from rewards in [0, 1]; Beta(1, 1) before any feedback.

    The evidence is kept per partition of the requests it came from, because that is what
    moves: an instance that takes a partition over restores that partition's evidence from
    the state changelog, and one that hands it over drops it. The posterior an instance
    draws from sums the evidence of the partitions it owns."""

    def __init__(self) -> None:
        # partition -> model -> [reward sum, (1 - reward) sum]
        self.evidence: dict[int, dict[str, list[float]]] = {}
        self.alpha: dict[str, float] = {}
        self.beta: dict[str, float] = {}
        self.changed: set[int] = set()  # partitions whose evidence is not in the changelog yet

    def update(self, model: str, reward: float, partition: int = 0) -> None:
        reward = min(1.0, max(0.0, reward))
        self._add(partition, model, reward, 1.0 - reward)
        self.changed.add(partition)

    def restore(self, partition: int, counts: dict[str, list[float]]) -> None:
        """Take over a partition's evidence, as its changelog entry holds it."""
        for model, (wins, losses) in counts.items():
            self._add(partition, model, wins, losses)

    def _add(self, partition: int, model: str, wins: float, losses: float) -> None:
        counts = self.evidence.setdefault(partition, {}).setdefault(model, [0.0, 0.0])
        counts[0] += wins
        counts[1] += losses
        self.alpha[model] = self.alpha.get(model, 1.0) + wins
        self.beta[model] = self.beta.get(model, 1.0) + losses

    def take_changed(self) -> dict[int, dict[str, list[float]]]:
        """The evidence of every partition that changed since the last call."""
        changed = {p: self.evidence[p] for p in sorted(self.changed)}
        self.changed = set()
        return changed

    def mean(self, model: str) -> float:
        a, b = self.alpha.get(model, 1.0), self.beta.get(model, 1.0)
        return a / (a + b)

    def draw(self, model: str, rng: random.Random) -> float:
        return rng.betavariate(self.alpha.get(model, 1.0), self.beta.get(model, 1.0))


def preferred_model(
    config: RolloutConfig, key: str, posteriors: Posteriors, rng: random.Random
) -> str:
    if config.mode == "split" and config.split:
        point, cumulative = key_position(key), 0.0
        for model, weight in config.split.items():
            cumulative += weight
            if point < cumulative:
                return model
        return next(reversed(config.split))
    if config.mode == "thompson":
        arms = config.preferable()
        return max(arms, key=lambda m: posteriors.draw(m, rng))
    return config.champion  # fixed and shadow: the champion answers, others are recorded
