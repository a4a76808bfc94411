"""The portable model artifact: a versioned directory a Spark pipeline is exported to.

    manifest.json   format version, name, version, kind, feature spec, stages, output spec,
                    checksums of the other two files
    arrays.npz      every numeric array of every stage, keyed "<stage index>.<name>"
    golden.json     input rows and the outputs Spark gave for them
    model.onnx / model.py ...   for a model of another runtime (below), its own files

A manifest's runtime says what scores: "stages" (the Spark stages, on numpy), "onnx" (an ONNX
graph on onnxruntime) or "python" (a class with load() and predict(batch)). Every file but the
manifest is checksummed, whatever the runtime.

Loading checks the manifest, the checksums and (when the scorer is built) every array's
shape against the stage that uses it, and refuses a bad artifact with one clear message.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rdv.errors import ConfigError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "arrays.npz"
GOLDEN = "golden.json"
KINDS = ("classifier", "regressor")
RUNTIMES = ("stages", "onnx", "python")
# Spark and numpy agree to the last bits; float32 graphs and other libraries do not.
EXACT = 1e-9


class ArtifactError(ConfigError):
    """The artifact cannot be served; the message names the file and what is wrong."""


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    type: Literal["numeric", "categorical"]
    vocabulary: tuple[str, ...] | None = None  # categories seen in training, for documentation


@dataclass(frozen=True)
class StageSpec:
    type: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        kind: str,
        inputs: list[str],
        outputs: list[str],
        params: dict[str, Any] | None = None,
        **arrays: Any,
    ) -> StageSpec:
        """A stage from plain lists, arrays given as keywords (for code that builds models)."""
        return cls(
            kind,
            tuple(inputs),
            tuple(outputs),
            params or {},
            {k: np.asarray(v) for k, v in arrays.items()},
        )


@dataclass(frozen=True)
class GoldenRow:
    """One input row and what Spark gave for it."""

    numeric: dict[str, float | None]
    categorical: dict[str, str | None]
    prediction: float | None  # None where Spark skipped or refused the row
    probability: tuple[float, ...] | None = None


@dataclass(frozen=True)
class ModelArtifact:
    name: str
    version: str
    kind: Literal["classifier", "regressor"]
    features: tuple[FeatureSpec, ...]
    stages: tuple[StageSpec, ...]
    labels: tuple[str, ...] | None  # class index -> label, classifiers only
    golden: tuple[GoldenRow, ...]
    metadata: dict[str, Any] = field(default_factory=dict)  # lineage, free-form
    path: Path | None = None
    runtime: dict[str, Any] = field(default_factory=lambda: {"type": "stages"})
    golden_tolerance: float = EXACT

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def runtime_type(self) -> str:
        return str(self.runtime.get("type", "stages"))

    def file(self, name: str) -> Path:
        """One of the artifact's own files (an ONNX graph, a Python module)."""
        if self.path is None:
            raise ArtifactError(f"{self.model_id}: not loaded from a directory, has no {name}")
        return self.path / name


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _nan_safe(value: Any) -> Any:
    """JSON has no NaN; Imputer's missingValue and golden outputs may be NaN."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dict):
        return {k: _nan_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_safe(v) for v in value]
    return value


def save_artifact(
    artifact: ModelArtifact, directory: Path, files: dict[str, Path] | None = None
) -> Path:
    """Write the artifact, with `files` (name in the artifact: source) copied in; refuses to
    overwrite an existing one (versions are immutable)."""
    if (directory / MANIFEST).exists():
        raise ArtifactError(
            f"{directory} already holds an artifact; versions are never "
            "overwritten, choose a new version"
        )
    directory.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    named: dict[str, Any] = {
        f"{i}.{name}": array
        for i, stage in enumerate(artifact.stages)
        for name, array in stage.arrays.items()
    }
    np.savez(buffer, **named)
    arrays = buffer.getvalue()
    golden = json.dumps([_nan_safe(vars(row)) for row in artifact.golden]).encode()
    own = {name: source.read_bytes() for name, source in (files or {}).items()}
    manifest = {
        "format_version": FORMAT_VERSION,
        "name": artifact.name,
        "version": artifact.version,
        "kind": artifact.kind,
        "features": [
            _nan_safe({k: v for k, v in vars(f).items() if v is not None})
            for f in artifact.features
        ],
        "stages": [
            {
                "type": s.type,
                "inputs": list(s.inputs),
                "outputs": list(s.outputs),
                "params": _nan_safe(s.params),
                "arrays": sorted(s.arrays),
            }
            for s in artifact.stages
        ],
        "output": {"labels": list(artifact.labels) if artifact.labels else None},
        "metadata": artifact.metadata,
        "runtime": artifact.runtime,
        "golden_tolerance": artifact.golden_tolerance,
        "checksums": {
            ARRAYS: _sha256(arrays),
            GOLDEN: _sha256(golden),
            **{name: _sha256(data) for name, data in own.items()},
        },
    }
    for name, data in own.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)
    (directory / ARRAYS).write_bytes(arrays)
    (directory / GOLDEN).write_bytes(golden)
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return directory


def _nan_back(value: Any) -> Any:
    if value == "NaN":
        return math.nan
    if isinstance(value, dict):
        return {k: _nan_back(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_back(v) for v in value]
    return value


def _require(condition: bool, where: Path, message: str) -> None:
    if not condition:
        raise ArtifactError(f"{where}: {message}")


def _read(directory: Path, name: str) -> bytes:
    try:
        return (directory / name).read_bytes()
    except OSError as exc:
        raise ArtifactError(f"{directory}: cannot read {name}: {exc.strerror}") from exc


def load_artifact(directory: Path | str) -> ModelArtifact:
    """Read and check an artifact directory. Stage arrays are checked when a Scorer is built."""
    directory = Path(directory)
    _require(directory.is_dir(), directory, "not a model artifact directory")
    try:
        manifest = json.loads(_read(directory, MANIFEST))
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{directory / MANIFEST}: not valid JSON ({exc})") from exc
    where = directory / MANIFEST
    _require(isinstance(manifest, dict), where, "must be a JSON object")
    version = manifest.get("format_version")
    _require(
        version == FORMAT_VERSION,
        where,
        f"format_version {version!r} is not supported (this Rendezvous reads {FORMAT_VERSION})",
    )
    for key in ("name", "version", "kind", "features", "stages", "checksums"):
        _require(key in manifest, where, f"missing {key!r}")
    _require(manifest["kind"] in KINDS, where, f"kind must be one of {KINDS}")
    runtime = manifest.get("runtime") or {"type": "stages"}
    _require(
        isinstance(runtime, dict) and runtime.get("type") in RUNTIMES,
        where,
        f"runtime type must be one of {RUNTIMES}, not {runtime!r}",
    )
    arrays_bytes, golden_bytes = _read(directory, ARRAYS), _read(directory, GOLDEN)
    checksums = manifest["checksums"]
    _require(isinstance(checksums, dict), where, "checksums must be an object")
    for name in {ARRAYS, GOLDEN, *checksums}:
        data = {ARRAYS: arrays_bytes, GOLDEN: golden_bytes}.get(name) or _read(directory, name)
        _require(
            checksums.get(name) == _sha256(data),
            directory / name,
            "checksum mismatch: the file is corrupt or was changed after export",
        )
    with np.load(io.BytesIO(arrays_bytes), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    stages = []
    for i, raw in enumerate(manifest["stages"]):
        missing = [a for a in raw.get("arrays", []) if f"{i}.{a}" not in arrays]
        _require(
            not missing, directory / ARRAYS, f"stage {i} ({raw.get('type')}) lacks arrays {missing}"
        )
        stages.append(
            StageSpec(
                type=str(raw.get("type")),
                inputs=tuple(raw.get("inputs", ())),
                outputs=tuple(raw.get("outputs", ())),
                params=_nan_back(raw.get("params", {})),
                arrays={a: arrays[f"{i}.{a}"] for a in raw.get("arrays", [])},
            )
        )
    features = []
    for raw in manifest["features"]:
        _require(
            raw.get("type") in ("numeric", "categorical"),
            where,
            f"feature {raw.get('name')!r} must be numeric or categorical",
        )
        vocabulary = raw.get("vocabulary")
        features.append(
            FeatureSpec(str(raw["name"]), raw["type"], tuple(vocabulary) if vocabulary else None)
        )
    golden = [GoldenRow(**_nan_back(row)) for row in json.loads(golden_bytes)]
    labels = (manifest.get("output") or {}).get("labels")
    return ModelArtifact(
        name=str(manifest["name"]),
        version=str(manifest["version"]),
        kind=manifest["kind"],
        features=tuple(features),
        stages=tuple(stages),
        labels=tuple(labels) if labels else None,
        golden=tuple(
            GoldenRow(
                g.numeric,
                g.categorical,
                g.prediction,
                tuple(g.probability) if g.probability else None,
            )
            for g in golden
        ),
        metadata=manifest.get("metadata", {}),
        path=directory,
        runtime=runtime,
        golden_tolerance=float(manifest.get("golden_tolerance", EXACT)),
    )
