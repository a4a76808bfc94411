"""Portable model artifacts (exported from Spark pipelines) and their numpy scorer."""

from rdv.model.artifact import ArtifactError, ModelArtifact, StageSpec, load_artifact
from rdv.model.scorer import Prediction, ScoreFailure, Scorer

__all__ = [
    "ArtifactError",
    "ModelArtifact",
    "Prediction",
    "ScoreFailure",
    "Scorer",
    "StageSpec",
    "load_artifact",
]
