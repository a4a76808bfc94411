"""Feature stages with Spark ML's semantics: StringIndexer, OneHotEncoder, VectorAssembler,
StandardScaler, Imputer. Each checks its arrays against the widths of its inputs when built
(`widths`), then transforms a whole micro-batch at once (`apply`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from rdv.model.artifact import ArtifactError, StageSpec
from rdv.model.frame import Array, Frame

STRING = -1  # width of a column of strings (categorical input)
# Batches up to this many rows take the plain-Python path where a stage has one: numpy's
# fixed cost per call outweighs a loop over so few rows.
_FEW_ROWS = 4
Widths = dict[str, int]


def _invalid_mode(spec: StageSpec, allowed: tuple[str, ...]) -> str:
    mode = str(spec.params.get("handleInvalid", "error"))
    if mode not in allowed:
        raise ArtifactError(f"{spec.type}: handleInvalid {mode!r} is not one of {allowed}")
    return mode


def _inputs_exist(spec: StageSpec, widths: Widths) -> None:
    missing = [c for c in spec.inputs if c not in widths]
    if missing:
        raise ArtifactError(
            f"{spec.type}: input columns {missing} are produced by no earlier "
            "stage and are not features"
        )


class StringIndexer:
    """Label -> index by the fitted label order. Unseen labels and nulls are invalid:
    error (row error), skip (row dropped: reported as skipped), keep (index = len(labels))."""

    def __init__(self, spec: StageSpec) -> None:
        self.spec = spec
        self.mode = _invalid_mode(spec, ("error", "skip", "keep"))
        labels = spec.params.get("labels")
        if not isinstance(labels, list) or len(labels) != len(spec.inputs):
            raise ArtifactError("StringIndexer: params.labels must hold one label list per input")
        self.lookups = [{str(label): float(i) for i, label in enumerate(col)} for col in labels]
        if len(spec.outputs) != len(spec.inputs):
            raise ArtifactError("StringIndexer: one output column per input column")

    def widths(self, widths: Widths) -> Widths:
        _inputs_exist(self.spec, widths)
        return dict.fromkeys(self.spec.outputs, 1)

    def apply(self, frame: Frame) -> None:
        for source, target, lookup in zip(
            self.spec.inputs, self.spec.outputs, self.lookups, strict=True
        ):
            values = frame.columns[source]
            codes = [lookup.get(v, -1.0) if isinstance(v, str) else -1.0 for v in values]
            index = np.array(codes, dtype=np.float64)
            # Looked for among the Python floats: one numpy call fewer per column and batch.
            if -1.0 in codes:
                invalid = index < 0
                if self.mode == "keep":
                    index[invalid] = float(len(lookup))
                else:
                    code = "skipped" if self.mode == "skip" else "invalid_feature"
                    verb = "skipped by" if self.mode == "skip" else "refused by"
                    frame.fail(
                        invalid,
                        code,
                        [
                            f"{source}: {'null' if values[i] is None else repr(values[i])} is "
                            f"{'missing' if values[i] is None else 'an unseen label'}, {verb} "
                            f"StringIndexer (handleInvalid={self.mode})"
                            for i in np.flatnonzero(invalid)
                        ],
                    )
                    index[invalid] = 0.0
            frame.columns[target] = index


class OneHotEncoder:
    """Index -> one-hot vector; dropLast drops the last category; handleInvalid=keep adds a
    category for invalid indices (then dropped again by dropLast), as Spark 3 does."""

    def __init__(self, spec: StageSpec) -> None:
        self.spec = spec
        self.mode = _invalid_mode(spec, ("error", "keep"))
        self.drop_last = bool(spec.params.get("dropLast", True))
        sizes = spec.params.get("categorySizes")
        if not isinstance(sizes, list) or len(sizes) != len(spec.inputs):
            raise ArtifactError("OneHotEncoder: params.categorySizes needs one size per input")
        self.sizes = [int(s) for s in sizes]
        keep = self.mode == "keep"
        self.widths_out = [
            s + (1 if keep else 0) - (1 if self.drop_last else 0) for s in self.sizes
        ]

    def widths(self, widths: Widths) -> Widths:
        _inputs_exist(self.spec, widths)
        return dict(zip(self.spec.outputs, self.widths_out, strict=True))

    def apply(self, frame: Frame) -> None:
        for k, (source, target) in enumerate(zip(self.spec.inputs, self.spec.outputs, strict=True)):
            label = frame.columns[source].astype(np.float64)
            size, width = self.sizes[k], self.widths_out[k]
            if frame.n <= _FEW_ROWS:
                frame.columns[target] = self._few(frame, source, label, size, width)
                continue
            valid = (label >= 0) & (label < size) & (label == np.floor(label))
            if not valid.all():
                if self.mode == "keep":
                    label = np.where(valid, label, float(size))
                else:
                    frame.fail(
                        ~valid,
                        "invalid_feature",
                        [_outside(source, label[i], size) for i in np.flatnonzero(~valid)],
                    )
                    label = np.where(valid, label, float(size))
            # Every label left is a valid index or `size` (NaN and out-of-range were replaced
            # above), so a plain cast does what np.nan_to_num did at a fifth of the cost.
            idx = label.astype(np.intp)
            out = np.zeros((frame.n, width))
            hot = idx < width
            out[np.flatnonzero(hot), idx[hot]] = 1.0
            frame.columns[target] = out

    def _few(self, frame: Frame, source: str, label: np.ndarray, size: int, width: int) -> Array:
        """`apply` for a few rows in Python: the same vectors and errors without the dozen
        numpy calls that are most of a one-row batch's cost."""
        out = np.zeros((frame.n, width))
        for i, value in enumerate(label.tolist()):
            index = size  # where keep puts an invalid index (dropped again by dropLast)
            if 0 <= value < size and value == math.floor(value):  # NaN fails both
                index = int(value)
            elif self.mode != "keep":
                frame.fail(np.array([i]), "invalid_feature", _outside(source, value, size))
            if index < width:
                out[i, index] = 1.0
        return out


def _outside(source: str, index: float, size: int) -> str:
    return (
        f"{source}: index {float(index)} is outside the {size} categories seen in training "
        "(OneHotEncoder handleInvalid=error)"
    )


class VectorAssembler:
    """Concatenate scalar and vector columns. handleInvalid for NaN/null scalars:
    error (row error), skip (row dropped), keep (NaN goes through)."""

    def __init__(self, spec: StageSpec) -> None:
        self.spec = spec
        self.mode = _invalid_mode(spec, ("error", "skip", "keep"))
        if len(spec.outputs) != 1:
            raise ArtifactError("VectorAssembler: exactly one output column")

    def widths(self, widths: Widths) -> Widths:
        _inputs_exist(self.spec, widths)
        strings = [c for c in self.spec.inputs if widths[c] == STRING]
        if strings:
            raise ArtifactError(f"VectorAssembler: {strings} are strings; index them first")
        return {self.spec.outputs[0]: sum(widths[c] for c in self.spec.inputs)}

    def apply(self, frame: Frame) -> None:
        columns = [frame.columns[c] for c in self.spec.inputs]
        # Copied into place, not column_stack'ed: its checks and reshapes cost more than the
        # copies in a one-row batch (docs/performance.md).
        width = sum(1 if c.ndim == 1 else c.shape[1] for c in columns)
        assembled = np.empty((frame.n, width))
        scalars, slots, at = [], [], 0
        for k, c in enumerate(columns):
            if c.ndim == 1:
                assembled[:, at] = c
                scalars.append(k)
                slots.append(at)
                at += 1
            else:
                assembled[:, at : at + c.shape[1]] = c
                at += c.shape[1]
        frame.columns[self.spec.outputs[0]] = assembled
        if self.mode == "keep" or not scalars:
            return
        bad = np.isnan(assembled[:, slots])
        if not bad.any():
            return
        code = "skipped" if self.mode == "skip" else "missing_feature"
        for i in np.flatnonzero(bad.any(axis=1)):
            name = self.spec.inputs[scalars[int(np.argmax(bad[i]))]]
            frame.fail(
                np.array([i]),
                code,
                f"{name} is missing or NaN (VectorAssembler handleInvalid={self.mode})",
            )


class StandardScaler:
    """(x - mean) if withMean, times 1/std if withStd, with 0 where std is 0, as Spark."""

    def __init__(self, spec: StageSpec) -> None:
        self.spec = spec
        self.with_mean = bool(spec.params.get("withMean", False))
        self.with_std = bool(spec.params.get("withStd", True))
        try:
            self.mean = np.asarray(spec.arrays["mean"], dtype=np.float64)
            std = np.asarray(spec.arrays["std"], dtype=np.float64)
        except KeyError as exc:
            raise ArtifactError(f"StandardScaler: missing array {exc}") from exc
        self.factor = np.divide(1.0, std, out=np.zeros_like(std), where=std != 0)

    def widths(self, widths: Widths) -> Widths:
        _inputs_exist(self.spec, widths)
        width = widths[self.spec.inputs[0]]
        if self.mean.shape != (width,) or self.factor.shape != (width,):
            raise ArtifactError(
                f"StandardScaler: mean/std have shapes {self.mean.shape}/"
                f"{self.factor.shape}, input is {width} wide"
            )
        return {self.spec.outputs[0]: width}

    def apply(self, frame: Frame) -> None:
        x = frame.vector(self.spec.inputs[0])
        if self.with_mean:
            x = x - self.mean
        if self.with_std:
            x = x * self.factor
        frame.columns[self.spec.outputs[0]] = x


class Imputer:
    """Replace missing values (null, NaN, or params.missingValue) by the fitted surrogate."""

    def __init__(self, spec: StageSpec) -> None:
        self.spec = spec
        missing: Any = spec.params.get("missingValue", math.nan)
        self.missing_value = float(missing)
        try:
            self.surrogates = np.asarray(spec.arrays["surrogates"], dtype=np.float64)
        except KeyError as exc:
            raise ArtifactError("Imputer: missing array 'surrogates'") from exc
        if self.surrogates.shape != (len(spec.inputs),) or len(spec.outputs) != len(spec.inputs):
            raise ArtifactError(
                f"Imputer: {len(spec.inputs)} inputs need as many outputs and "
                f"surrogates, got {self.surrogates.shape}"
            )

    def widths(self, widths: Widths) -> Widths:
        _inputs_exist(self.spec, widths)
        return dict.fromkeys(self.spec.outputs, 1)

    def apply(self, frame: Frame) -> None:
        for k, (source, target) in enumerate(zip(self.spec.inputs, self.spec.outputs, strict=True)):
            x = frame.columns[source].astype(np.float64)
            gap = np.isnan(x)
            if not math.isnan(self.missing_value):
                gap |= x == self.missing_value
            frame.columns[target] = np.where(gap, self.surrogates[k], x)


class Transformer(Protocol):
    def widths(self, widths: Widths) -> Widths: ...

    def apply(self, frame: Frame) -> None: ...


TRANSFORMERS: dict[str, Callable[[StageSpec], Transformer]] = {
    "StringIndexer": StringIndexer,
    "OneHotEncoder": OneHotEncoder,
    "VectorAssembler": VectorAssembler,
    "StandardScaler": StandardScaler,
    "Imputer": Imputer,
}
