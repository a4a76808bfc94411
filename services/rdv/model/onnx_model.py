"""ONNX graphs on onnxruntime: what skl2onnx and onnxmltools make of scikit-learn, XGBoost
and LightGBM models.

Two input layouts are understood. One input per feature, named as the feature ([n, 1]
tensors; what a pipeline with a ColumnTransformer is converted with), or a single numeric
input as wide as the features, in their declared order. A classifier's probabilities are its
float output of shape [n, classes], or skl2onnx's default ZipMap (a list of {class: p}).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rdv.model.artifact import ArtifactError, FeatureSpec, ModelArtifact
from rdv.model.external import Columns, ExternalModel
from rdv.model.frame import Array

_NUMERIC = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
}


def _session(path: str) -> Any:
    try:
        import onnxruntime  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ArtifactError(
            "ONNX models need onnxruntime: pip install 'rendezvous-serving[onnx]'"
        ) from exc
    options = onnxruntime.SessionOptions()
    # A worker is one of several processes on the cores: one thread each, as numpy runs.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    try:
        return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own exception types, for a graph it cannot load
        raise ArtifactError(f"{path}: not a loadable ONNX model: {exc}") from exc


def features_of(path: str) -> tuple[FeatureSpec, ...]:
    """The features of a graph with one input per feature: string inputs are categorical."""
    inputs = _session(path).get_inputs()
    if len(inputs) == 1 and inputs[0].type != "tensor(string)":
        raise ArtifactError(
            f"{path} has one input {inputs[0].name!r} for all features: name them with --features"
        )
    return tuple(
        FeatureSpec(i.name, "categorical" if i.type == "tensor(string)" else "numeric")
        for i in inputs
    )


class OnnxModel(ExternalModel):
    def __init__(self, artifact: ModelArtifact) -> None:
        super().__init__(artifact)
        where = artifact.file(str(artifact.runtime.get("file", "model.onnx")))
        self.session = _session(str(where))
        self.inputs = self.session.get_inputs()
        names = {i.name for i in self.inputs}
        self.stacked = len(self.inputs) == 1 and self.inputs[0].name not in self.names
        if self.stacked:
            if any(f.type == "categorical" for f in artifact.features):
                raise ArtifactError(
                    f"{artifact.model_id}: a single-input graph takes numbers only; "
                    "categorical features need an input each, named as the feature"
                )
        elif names != set(self.names):
            raise ArtifactError(
                f"{artifact.model_id}: the graph's inputs {sorted(names)} are not the "
                f"features {sorted(self.names)}"
            )
        outputs = self.session.get_outputs()
        self.output = self._pick_output(outputs)

    def _pick_output(self, outputs: list[Any]) -> str:
        if self.kind == "regressor":
            return str(outputs[0].name)
        floats = ("tensor(float)", "tensor(double)")
        for output in outputs:
            zipmap = output.type.startswith("seq(map(")
            if zipmap or (output.type in floats and len(output.shape or ()) == 2):
                return str(output.name)
        raise ArtifactError(
            f"{self.artifact.model_id}: no probability output among "
            f"{[(o.name, o.type) for o in outputs]}"
        )

    def _feed(self, columns: Columns, n: int) -> dict[str, np.ndarray]:
        if self.stacked:
            spec = self.inputs[0]
            matrix = np.column_stack([columns[name] for name in self.names]).reshape(n, -1)
            return {spec.name: matrix.astype(_NUMERIC.get(spec.type, np.float32))}
        feed = {}
        for spec in self.inputs:
            column = columns[spec.name]
            if spec.type == "tensor(string)":
                column = np.array(["" if v is None else v for v in column], dtype=object)
            else:
                column = column.astype(_NUMERIC.get(spec.type, np.float32))
            feed[spec.name] = column.reshape(n, 1)
        return feed

    def run(self, columns: Columns, n: int) -> Array:
        [result] = self.session.run([self.output], self._feed(columns, n))
        if isinstance(result, list):  # ZipMap: one {class: probability} per row
            classes = sorted(result[0]) if result else []
            return np.array([[row[c] for c in classes] for row in result], dtype=np.float64)
        return np.asarray(result, dtype=np.float64)
