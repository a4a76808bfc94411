"""Every service starts through the CLI (`rdv rendezvous`, `rdv worker`, ...), and the model
and rendezvous images install no optional extra: importing the CLI must not import one."""

from __future__ import annotations

import subprocess
import sys

import pytest

EXTRAS = ("pyarrow", "pandas", "matplotlib", "pyspark", "onnxruntime", "tritonclient")


def test_the_cli_imports_no_optional_extra() -> None:
    # A fresh interpreter: this test process has imported all sorts already. (The compose
    # test found it first: `rdv replay` imported pyarrow at the top, and the rendezvous
    # container, which has none, died at start.)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, rdv_tools.cli.app; "
            f"print(' '.join(m for m in {EXTRAS!r} if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == []


def test_a_missing_extra_is_named_in_one_line() -> None:
    from rdv.errors import ConfigError
    from rdv_tools.cli.common import optional_extra

    with pytest.raises(ConfigError) as raised, optional_extra("rdv x needs nothing", "report"):
        import rdv_no_such_module  # type: ignore[import-not-found]  # noqa: F401
    assert str(raised.value) == (
        "rdv x needs nothing (No module named 'rdv_no_such_module'): "
        "pip install 'rendezvous-serving[report]'"
    )


def test_a_service_starts_without_importing_the_tools() -> None:
    # Every process a rolling upgrade replaces pays its imports in CPU while the rest of the
    # stack answers: a service's start loads its own code, not benchmarks, training or the
    # other services (docs/performance.md has what it bought).
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from rdv_tools.cli.main import service_app; service_app(); "
            "print(' '.join(sys.modules))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    heavy = (
        "rdv_tools.bench.",
        "rdv_tools.up",
        "rdv_tools.report",
        "rdv_tools.demo",
        "rdv.worker.service",
        "rdv.rendezvous",
        "rdv.decoy.service",
        "rdv.model",
        "rdv.trainer",
    )
    assert [m for m in done.stdout.split() if m.startswith(heavy)] == []


def test_the_fast_path_names_exactly_the_services_both_apps_serve() -> None:
    # `main.SERVICES` picks the small app before any command is imported, so it names the
    # services a second time: a service added to one place and not the other would start
    # through the whole CLI, or not at all.
    from typer.main import get_command

    from rdv_tools.cli.main import SERVICES, full_app, service_app

    small = set(get_command(service_app()).commands)  # type: ignore[attr-defined]
    full = set(get_command(full_app()).commands)  # type: ignore[attr-defined]
    assert small == SERVICES
    assert full >= SERVICES
