"""Two processes fetching the same artefact: the second waits for the first, then finds it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rdv_tools.cache_lock import cache_lock

# Another process: takes the lock, and fetches only what it does not find.
FETCHER = """
import sys
from pathlib import Path
from rdv_tools.cache_lock import cache_lock
artefact = Path(sys.argv[1])
with cache_lock("thing"):
    if artefact.exists():
        print("found")
    else:
        artefact.write_text("fetched by the other")
        print("fetched")
"""


def fetch_elsewhere(artefact: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", FETCHER, str(artefact)], stdout=subprocess.PIPE, text=True
    )


def test_a_second_fetch_waits_for_the_first_and_finds_its_artefact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RDV_CACHE", str(tmp_path / "cache"))
    artefact = tmp_path / "artefact"
    with cache_lock("thing"):
        other = fetch_elsewhere(artefact)
        with pytest.raises(subprocess.TimeoutExpired):
            other.wait(timeout=1.0)  # it waits on the lock, and has not fetched meanwhile
        assert not artefact.exists()
        artefact.write_text("fetched here")
    out, _ = other.communicate(timeout=30)
    assert (out.strip(), artefact.read_text()) == ("found", "fetched here")


def test_the_lock_is_free_again_once_its_holder_has_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RDV_CACHE", str(tmp_path / "cache"))
    first = fetch_elsewhere(tmp_path / "artefact")
    first.communicate(timeout=30)
    with cache_lock("thing"):  # would hang if the exited process still held it
        assert (tmp_path / "artefact").read_text() == "fetched by the other"
