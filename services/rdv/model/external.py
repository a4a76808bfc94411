"""Models that are not Spark stages: an ONNX graph or a Python class, scored a batch at a time.

Both see the batch as the stages do, one column per declared feature: numeric features as
float64 with NaN for missing, categorical ones as object arrays of strings or None. A batch
the model refuses is scored again row by row, so one bad row fails alone, as with the stages.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from rdv.model.artifact import ArtifactError, ModelArtifact
from rdv.model.estimators import Output
from rdv.model.frame import Array, Frame

Columns = dict[str, np.ndarray]


class ExternalModel(ABC):
    """The scorer's estimator for a model of another runtime."""

    def __init__(self, artifact: ModelArtifact) -> None:
        self.artifact = artifact
        self.kind: str = artifact.kind
        self.names = [f.name for f in artifact.features]
        self.num_classes = len(artifact.labels) if artifact.labels else 0

    @abstractmethod
    def run(self, columns: Columns, n: int) -> Array:
        """Regressors: (n,) values. Classifiers: (n, classes) probabilities."""

    def predict(self, frame: Frame) -> Output:
        columns = {name: frame.columns[name] for name in self.names}
        try:
            values = self._checked(self.run(columns, frame.n), frame.n)
        except Exception:  # the model's own code or graph: isolate the row that broke it
            if frame.n == 1:
                raise
            values = self._row_by_row(columns, frame)
        return self._output(values)

    def _row_by_row(self, columns: Columns, frame: Frame) -> Array:
        scored: list[Array | None] = []
        for i in range(frame.n):
            try:
                row = {name: column[i : i + 1] for name, column in columns.items()}
                scored.append(self._checked(self.run(row, 1), 1)[0])
            except Exception as exc:  # as above: one row's failure is that row's error
                frame.fail(np.array([i]), "model_error", f"{type(exc).__name__}: {exc}")
                scored.append(None)
        width = max(self.num_classes, 1) if self.kind == "classifier" else 0
        gap = np.full(width, np.nan) if width else np.float64(np.nan)
        return np.array([gap if value is None else value for value in scored], dtype=np.float64)

    def _checked(self, values: Array, n: int) -> Array:
        values = np.asarray(values, dtype=np.float64)
        if self.kind == "regressor":
            if values.size != n:
                raise ArtifactError(f"{self.artifact.model_id} gave {values.shape} for {n} rows")
            return values.reshape(n)
        expected = (n, self.num_classes) if self.num_classes else (n, values.shape[-1])
        if values.ndim != 2 or values.shape != expected:
            raise ArtifactError(
                f"{self.artifact.model_id} gave probabilities of shape {values.shape}, "
                f"expected {expected}"
            )
        if not self.num_classes:
            self.num_classes = values.shape[1]
        return values

    def _output(self, values: Array) -> Output:
        if self.kind == "regressor":
            return Output(values, None)
        filled = np.nan_to_num(values, nan=-np.inf)
        return Output(np.argmax(filled, axis=1).astype(np.float64), values)

    def widths(self, widths: dict[str, int]) -> dict[str, int]:
        return widths
