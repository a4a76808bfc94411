"""Workers and the decoy may run below the rendezvous's priority: RDV_*_NICE, checked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rdv.decoy.settings import DecoySettings
from rdv.errors import ConfigError
from rdv.settings_util import load_settings
from rdv.worker.settings import WorkerSettings


def test_a_worker_niced_by_the_environment_runs_that_much_lower() -> None:
    probe = "import os; from rdv.runtime import yield_cpu; yield_cpu(7); print(os.nice(0))"
    child = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert int(child.stdout) == os.nice(0) + 7


def test_by_default_the_models_and_the_archive_yield_to_the_rendezvous() -> None:
    assert WorkerSettings(model=Path("m")).nice == 10
    assert DecoySettings(archive=Path("a")).nice == 10


@pytest.mark.parametrize(
    ("variable", "settings", "required"),
    [
        ("RDV_WORKER_NICE", WorkerSettings, {"RDV_WORKER_MODEL": "m"}),
        ("RDV_DECOY_NICE", DecoySettings, {"RDV_DECOY_ARCHIVE": "a"}),
    ],
)
def test_a_nice_outside_0_to_19_is_refused_naming_its_variable(
    variable: str, settings: type, required: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in required.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(variable, "20")
    with pytest.raises(ConfigError, match=variable):
        load_settings(settings)
