"""One fetch of an artefact into the shared cache at a time, across processes.

Two commands started together on a fresh machine (two `rdv up`, or the test suite's parallel
workers) would otherwise both download the same artefact into the same partial folder, and
one would delete the other's work. The lock is an advisory `flock` on a file beside the
artefact: the kernel releases it when its holder exits, however it exits.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

from rdv.paths import cache_dir


@contextmanager
def cache_lock(artefact: str) -> Iterator[None]:
    """Held while `artefact` is checked and, if missing, fetched: whoever waits finds it done."""
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / f".{artefact}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
