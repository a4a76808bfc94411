"""A model written in Python: a class with `load(directory)` and `predict(batch)`, for what
neither the Spark stages nor ONNX can express.

    class Model:
        def load(self, directory: pathlib.Path) -> None: ...   # read weights, once
        def predict(self, batch: dict[str, numpy.ndarray]) -> numpy.ndarray: ...

`batch` has one column per declared feature (float64 with NaN for missing numbers, object
arrays of strings or None for categories). A regressor returns n values, a classifier an
(n, classes) array of probabilities. The module and every file beside it are part of the
artifact, checksummed like the rest.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from rdv.model.artifact import ArtifactError, ModelArtifact
from rdv.model.external import Columns, ExternalModel
from rdv.model.frame import Array


def load_class(path: str, class_name: str, module_name: str) -> type:
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ArtifactError(f"{path}: not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickle look modules up by name
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's module: whatever it raises, name it in one line
        raise ArtifactError(f"{path}: importing it failed: {type(exc).__name__}: {exc}") from exc
    found = getattr(module, class_name, None)
    if not isinstance(found, type):
        raise ArtifactError(f"{path} has no class {class_name!r}")
    for method in ("load", "predict"):
        if not callable(getattr(found, method, None)):
            raise ArtifactError(f"{path}: {class_name} has no {method}() method")
    return found


class PythonModel(ExternalModel):
    def __init__(self, artifact: ModelArtifact) -> None:
        super().__init__(artifact)
        file = str(artifact.runtime.get("file", "model.py"))
        class_name = str(artifact.runtime.get("class", "Model"))
        module_name = "rdv_model_" + "".join(c if c.isalnum() else "_" for c in artifact.model_id)
        cls = load_class(str(artifact.file(file)), class_name, module_name)
        self.model: Any = cls()
        try:
            self.model.load(artifact.file("."))
        except Exception as exc:  # as above
            raise ArtifactError(
                f"{artifact.model_id}: {class_name}.load() failed: {type(exc).__name__}: {exc}"
            ) from exc

    def run(self, columns: Columns, n: int) -> Array:
        return self.model.predict(dict(columns))  # type: ignore[no-any-return]
