"""What an estimator stage returns, and the linear models: one matrix product per batch."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from rdv.model.artifact import ArtifactError, StageSpec
from rdv.model.frame import Array, Frame
from rdv.model.transformers import Widths


@dataclass(frozen=True)
class Output:
    prediction: Array  # (n,) class index or regression value
    probability: Array | None  # (n, classes) for classifiers


def _array(spec: StageSpec, name: str, ndim: int) -> Array:
    try:
        array = np.asarray(spec.arrays[name], dtype=np.float64)
    except KeyError as exc:
        raise ArtifactError(f"{spec.type}: missing array {name!r}") from exc
    if array.ndim != ndim:
        raise ArtifactError(f"{spec.type}: {name} must have {ndim} dimensions, has {array.ndim}")
    return array


def _check_width(spec: StageSpec, widths: Widths, expected: int) -> None:
    source = spec.inputs[0] if spec.inputs else None
    if source not in widths:
        raise ArtifactError(f"{spec.type}: input column {source!r} is produced by no stage")
    if widths[source] != expected:
        raise ArtifactError(
            f"{spec.type}: model expects {expected} features, its input "
            f"{source!r} is {widths[source]} wide"
        )


# exp(-margin) overflows a float64 below this margin (-log of the largest double, 709.78).
_EXP_OVERFLOWS = -709.0


class LogisticRegression:
    """Binomial: p = sigmoid(w.x + b), class 1 when p > threshold. Multinomial: softmax of
    W x + b, class = argmax. Probabilities as Spark computes them."""

    kind = "classifier"

    def __init__(self, spec: StageSpec) -> None:
        self.spec = spec
        self.coefficients = _array(spec, "coefficients", 2)  # (k, d), k = 1 for binomial
        self.intercepts = _array(spec, "intercepts", 1)  # (k,)
        self.multinomial = spec.params.get("family", "binomial") == "multinomial"
        self.threshold = float(spec.params.get("threshold", 0.5))
        k = self.coefficients.shape[0]
        if self.intercepts.shape != (k,) or (not self.multinomial and k != 1):
            raise ArtifactError(
                f"LogisticRegression: coefficients {self.coefficients.shape} "
                f"and intercepts {self.intercepts.shape} do not fit"
            )
        self.num_classes = k if self.multinomial else 2

    def widths(self, widths: Widths) -> Widths:
        _check_width(self.spec, widths, self.coefficients.shape[1])
        return {}

    def predict(self, frame: Frame) -> Output:
        x = frame.vector(self.spec.inputs[0])
        if not self.multinomial:
            # A one-dimensional product and no column_stack: numpy's cost per call is most of
            # a one-row batch's (docs/performance.md, "A one-row batch's numpy calls").
            margin = x @ self.coefficients[0]
            margin += self.intercepts[0]
            # Spark's formula, for parity. A margin under -709 overflows exp to inf and p1 to
            # 0, which is the right answer: only then is the warning silenced (errstate costs
            # as much as the formula).
            overflows = margin.size and margin.min() < _EXP_OVERFLOWS
            with np.errstate(over="ignore") if overflows else contextlib.nullcontext():
                p1 = 1.0 / (1.0 + np.exp(-margin))
            probability = np.empty((len(p1), 2))
            probability[:, 1] = p1
            np.subtract(1.0, p1, out=probability[:, 0])
            return Output((p1 > self.threshold).astype(np.float64), probability)
        margins = x @ self.coefficients.T + self.intercepts
        shifted = np.exp(margins - margins.max(axis=1, keepdims=True))
        probability = shifted / shifted.sum(axis=1, keepdims=True)
        return Output(probability.argmax(axis=1).astype(np.float64), probability)


class LinearRegression:
    kind = "regressor"
    num_classes = 0

    def __init__(self, spec: StageSpec) -> None:
        self.spec = spec
        self.coefficients = _array(spec, "coefficients", 1)
        self.intercept = float(_array(spec, "intercept", 1)[0])

    def widths(self, widths: Widths) -> Widths:
        _check_width(self.spec, widths, self.coefficients.shape[0])
        return {}

    def predict(self, frame: Frame) -> Output:
        return Output(frame.vector(self.spec.inputs[0]) @ self.coefficients + self.intercept, None)


def param(spec: StageSpec, name: str, default: Any) -> Any:
    return spec.params.get(name, default)
