"""`rdv models register`: an ONNX file or a Python model class into the registry, beside the
models `rdv train` exports, with golden rows every worker checks before it serves."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated, Literal

import typer

from rdv.errors import ConfigError
from rdv.model.artifact import FeatureSpec
from rdv.model.packaging import FLOAT32, package_model, parse_features, read_golden
from rdv.model.registry import ALIASES, Registry
from rdv_tools.cli.common import console
from rdv_tools.cli.training_cmd import RegistryOption


def _source(onnx: Path | None, python: str | None) -> tuple[Literal["onnx", "python"], Path, str]:
    if (onnx is None) == (python is None):
        raise ConfigError("give the model as --onnx FILE or as --python FILE[:CLASS], one of them")
    if onnx is not None:
        return "onnx", onnx, ""
    assert python is not None
    file, _, class_name = python.partition(":")
    return "python", Path(file), class_name or "Model"


def register(
    name: Annotated[str, typer.Option(help="Model name, e.g. churn.")],
    version: Annotated[str, typer.Option(help="Version, never reused for a name.")],
    onnx: Annotated[Path | None, typer.Option(help="An ONNX file (skl2onnx, onnxmltools).")] = None,
    python: Annotated[
        str | None,
        typer.Option(help="A Python file and its class, FILE[:CLASS] (class Model by default)."),
    ] = None,
    features: Annotated[
        str | None,
        typer.Option(
            help="name:numeric,name:categorical, in the model's order. An ONNX graph with an "
            "input per feature gives them itself."
        ),
    ] = None,
    kind: Annotated[str, typer.Option(help="classifier or regressor.")] = "classifier",
    labels: Annotated[
        str | None, typer.Option(help="Class labels by class index, e.g. human,bot.")
    ] = None,
    golden: Annotated[
        Path | None,
        typer.Option(
            help="JSON lines {features, prediction, probability}: what the model gave where it "
            "was made. Rows without outputs record this runtime's."
        ),
    ] = None,
    file: Annotated[
        list[Path] | None, typer.Option("--file", help="A file the Python model loads.")
    ] = None,
    tolerance: Annotated[float, typer.Option(help="Golden rows' tolerance.")] = FLOAT32,
    alias: Annotated[
        str | None, typer.Option(help=f"Then point {'/'.join(ALIASES)} at it.")
    ] = None,
    registry: RegistryOption = Path("registry"),
) -> None:
    """Register an ONNX model or a Python model class. Checked before it is kept: it loads,
    scores a batch, and reproduces its golden rows."""
    runtime, source, class_name = _source(onnx, python)
    if not source.is_file():
        raise ConfigError(f"{source}: no such file")
    if features is not None:
        specs: tuple[FeatureSpec, ...] = parse_features(features)
    elif runtime == "onnx":
        from rdv.model.onnx_model import features_of

        specs = features_of(str(source))
    else:
        raise ConfigError("a Python model needs --features, e.g. age:numeric,country:categorical")
    rows = read_golden(golden) if golden is not None else []
    if not rows:
        console.print("[yellow]no golden rows:[/] workers cannot check this model before serving")
    reg = Registry(registry)
    with tempfile.TemporaryDirectory(prefix="rdv-register-") as scratch:
        artifact = package_model(
            runtime,
            source,
            name=name,
            version=version,
            kind=kind,
            features=specs,
            labels=tuple(labels.split(",")) if labels else None,
            golden=rows,
            class_name=class_name,
            extra_files=tuple(file or ()),
            tolerance=tolerance,
            directory=Path(scratch) / "artifact",
        )
        assert artifact.path is not None
        entry = reg.register(
            artifact.path,
            {"registered_at": time.time(), "runtime": runtime, "source": str(source.resolve())},
        )
    console.print(
        f"[green]registered[/] {entry.model_id} ({runtime}, {len(artifact.golden)} golden rows, "
        f"features {', '.join(f.name for f in specs)}) in {entry.path}"
    )
    if alias:
        reg.alias(alias, entry.model_id)
        console.print(f"{alias} -> {entry.model_id}")
