"""Choosing the preferred model of a request: fixed, sticky split, or Thompson sampling."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

from rdv.rendezvous.config import RolloutConfig


def key_position(key: str) -> float:
    """A stable point in [0, 1) for a key: the same key always lands on the same model."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass
class Posteriors:
    """Beta(alpha, beta) per model, from rewards in [0, 1]; Beta(1, 1) before any feedback."""

    alpha: dict[str, float] = field(default_factory=dict)
    beta: dict[str, float] = field(default_factory=dict)

    def update(self, model: str, reward: float) -> None:
        reward = min(1.0, max(0.0, reward))
        self.alpha[model] = self.alpha.get(model, 1.0) + reward
        self.beta[model] = self.beta.get(model, 1.0) + 1.0 - reward

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
        arms = [config.champion, *config.tier_models("challenger", None)]
        return max(arms, key=lambda m: posteriors.draw(m, rng))
    return config.champion  # fixed and shadow: the champion answers, others are recorded
