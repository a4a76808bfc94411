"""Score micro-batches of requests with a portable artifact, on numpy alone."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import numpy as np

from rdv.messages import Features
from rdv.model.artifact import ArtifactError, ModelArtifact
from rdv.model.estimators import LinearRegression, LogisticRegression, Output
from rdv.model.frame import Frame, RowError
from rdv.model.transformers import STRING, TRANSFORMERS, Widths
from rdv.model.trees import KINDS as TREE_KINDS
from rdv.model.trees import TreeEnsemble


class _Estimator(Protocol):
    kind: str
    num_classes: int

    def widths(self, widths: Widths) -> Widths: ...

    def predict(self, frame: Frame) -> Output: ...


@dataclass(frozen=True)
class Prediction:
    score: float
    label: str | None
    probabilities: tuple[float, ...] | None
    prediction: float


@dataclass(frozen=True)
class ScoreFailure:
    code: str
    message: str


def _external(artifact: ModelArtifact) -> _Estimator:
    if not artifact.features:
        raise ArtifactError(f"{artifact.model_id}: a {artifact.runtime_type} model needs features")
    if artifact.runtime_type == "onnx":
        from rdv.model.onnx_model import OnnxModel  # onnxruntime only where a model needs it

        return OnnxModel(artifact)
    from rdv.model.python_model import PythonModel

    return PythonModel(artifact)


def _estimator(spec: Any) -> _Estimator:
    if spec.type == "LogisticRegression":
        return LogisticRegression(spec)
    if spec.type == "LinearRegression":
        return LinearRegression(spec)
    if spec.type in TREE_KINDS:
        return TreeEnsemble(spec)
    raise ArtifactError(f"the last stage must be an estimator, not {spec.type!r}")


class Scorer:
    """Built once per artifact; checks every stage's arrays against the widths flowing into
    it, so a bad artifact fails here, not on the first request."""

    def __init__(self, artifact: ModelArtifact) -> None:
        self.artifact = artifact
        self.transformers: list[Any] = []
        self.numeric = [f.name for f in artifact.features if f.type == "numeric"]
        self.categorical = [f.name for f in artifact.features if f.type == "categorical"]
        if artifact.runtime_type != "stages":
            self.estimator: _Estimator = _external(artifact)
            return
        if not artifact.stages:
            raise ArtifactError(f"{artifact.model_id}: the pipeline has no stages")
        widths: Widths = {
            f.name: (STRING if f.type == "categorical" else 1) for f in artifact.features
        }
        for spec in artifact.stages[:-1]:
            if spec.type not in TRANSFORMERS:
                raise ArtifactError(
                    f"{artifact.model_id}: unsupported stage {spec.type!r}; "
                    f"supported: {', '.join(TRANSFORMERS)}"
                )
            stage = TRANSFORMERS[spec.type](spec)
            widths.update(stage.widths(widths))
            self.transformers.append(stage)
        self.estimator = _estimator(artifact.stages[-1])
        self.estimator.widths(widths)
        if self.estimator.kind != artifact.kind:
            raise ArtifactError(
                f"{artifact.model_id}: manifest says {artifact.kind} but the "
                f"estimator is a {self.estimator.kind}"
            )
        labels = artifact.labels
        if labels is not None and len(labels) != self.estimator.num_classes:
            raise ArtifactError(
                f"{artifact.model_id}: {len(labels)} output labels for "
                f"{self.estimator.num_classes} classes"
            )

    def _frame(self, rows: Sequence[Features]) -> Frame:
        """Columns from request features: one pass over the rows per feature type. Absent
        values are told apart while they are Python objects: numpy's fixed cost per call is
        most of a one-row batch's frame (docs/performance.md)."""
        frame = Frame(len(rows))
        numeric, categorical = self.numeric, self.categorical
        if numeric:
            nan = math.nan
            values = []
            for row in rows:
                given = row.get("numeric") or {}
                values.append([nan if (v := given.get(name)) is None else v for name in numeric])
            matrix = np.array(values, dtype=np.float64).reshape(len(rows), len(numeric))
            for j, name in enumerate(numeric):
                frame.columns[name] = matrix[:, j]
            absent = [  # NaN, given or put for None
                (i, j)
                for i, row in enumerate(matrix.tolist())
                for j, v in enumerate(row)
                if math.isnan(v)
            ]
            self._misplaced(frame, rows, numeric, absent, "categorical", "numeric")
        if categorical:
            labels = []
            for row in rows:
                named = row.get("categorical") or {}
                labels.append([named.get(name) for name in categorical])
            table = np.array(labels, dtype=object).reshape(len(rows), len(categorical))
            for j, name in enumerate(categorical):
                frame.columns[name] = table[:, j]
            absent = [
                (i, j) for i, row in enumerate(labels) for j, v in enumerate(row) if v is None
            ]
            self._misplaced(frame, rows, categorical, absent, "numeric", "categorical")
        return frame

    @staticmethod
    def _misplaced(
        frame: Frame,
        rows: Sequence[Features],
        names: list[str],
        absent: list[tuple[int, int]],
        other: str,
        wanted: str,
    ) -> None:
        """A feature missing where it belongs but given with the other type is wrong-typed."""
        for i, j in absent:
            given = cast(Mapping[str, Any], rows[i].get(other) or {})  # numeric or categorical
            if given.get(names[j]) is not None:
                frame.fail(
                    np.array([i]),
                    "invalid_feature",
                    f"{names[j]} must be {wanted}, got a {other} value",
                )

    def score(self, rows: Sequence[Features]) -> list[Prediction | ScoreFailure]:
        """One result per row, in order; a bad row never fails the batch."""
        if not rows:
            return []
        frame = self._frame(rows)
        for stage in self.transformers:
            stage.apply(frame)
        output = self.estimator.predict(frame)
        # As Python floats once per batch, not a numpy scalar per value.
        predictions: list[float] = output.prediction.tolist()
        probabilities = None if output.probability is None else output.probability.tolist()
        return [
            self._result(predictions[i], None if probabilities is None else probabilities[i], error)
            for i, error in enumerate(frame.errors)
        ]

    def _result(
        self, prediction: float, probabilities: list[float] | None, error: RowError | None
    ) -> Prediction | ScoreFailure:
        if error is not None:
            return ScoreFailure(error.code, error.message)
        if probabilities is None:
            if not math.isfinite(prediction):
                return ScoreFailure("model_error", f"the model gave {prediction}")
            return Prediction(prediction, None, None, prediction)
        probability = tuple(probabilities)
        if not all(math.isfinite(p) for p in probability):
            return ScoreFailure("model_error", f"the model gave probabilities {probability}")
        index = int(prediction)
        score = probability[1] if len(probability) == 2 else probability[index]
        labels = self.artifact.labels
        label = labels[index] if labels else str(index)
        return Prediction(score, label, probability, prediction)

    def golden_mismatches(self, tolerance: float | None = None) -> list[str]:
        """Rows of the artifact's golden vectors where this scorer disagrees with what the
        model gave where it was made (Spark, or the library an ONNX or Python model came from),
        within the artifact's tolerance unless one is given."""
        golden = self.artifact.golden
        if tolerance is None:
            tolerance = self.artifact.golden_tolerance
        results = self.score([{"numeric": g.numeric, "categorical": g.categorical} for g in golden])
        problems = []
        for n, (row, got) in enumerate(zip(golden, results, strict=True)):
            if row.prediction is None:
                if isinstance(got, Prediction):
                    problems.append(f"row {n}: expected no prediction, got {got}")
                continue
            if isinstance(got, ScoreFailure):
                problems.append(f"row {n}: expected {row.prediction}, got {got.message}")
            elif not math.isclose(
                got.prediction, row.prediction, rel_tol=tolerance, abs_tol=tolerance
            ):
                problems.append(
                    f"row {n}: prediction {got.prediction} != expected {row.prediction}"
                )
            elif row.probability is not None and (
                got.probabilities is None
                or max(abs(a - b) for a, b in zip(got.probabilities, row.probability, strict=True))
                > tolerance
            ):
                problems.append(
                    f"row {n}: probabilities {got.probabilities} != expected {row.probability}"
                )
        return problems
