"""Where the project's data files live, in a checkout and in an installed wheel."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
# In a checkout the package sits at services/rdv, two levels below the repository root.
_CHECKOUT = _PACKAGE.parent.parent


def _first_existing(*candidates: Path) -> Path:
    for path in candidates:
        if path.exists():
            return path
    return candidates[0]


def schemas_dir() -> Path:
    """The Avro schema catalog: $RDV_SCHEMAS_DIR, the checkout's schemas/, or the wheel's copy."""
    override = os.environ.get("RDV_SCHEMAS_DIR")
    if override:
        return Path(override)
    return _first_existing(_CHECKOUT / "schemas", _PACKAGE / "_data" / "schemas")


def kafka_pom_dir() -> Path:
    """The folder holding ops/kafka/pom.xml and the broker's logging config."""
    return _first_existing(_CHECKOUT / "ops" / "kafka", _PACKAGE / "_data" / "kafka")


def ops_file(name: str) -> Path:
    """A file of ops/ (the Prometheus config and rules): the checkout's, or the wheel's copy."""
    return _first_existing(_CHECKOUT / "ops" / name, _PACKAGE / "_data" / "ops" / name)


def state_dir() -> Path:
    """Per-user state (embedded broker data, pid files): $RDV_HOME or ~/.rdv."""
    return Path(os.environ.get("RDV_HOME", Path.home() / ".rdv"))


def cache_dir() -> Path:
    """Downloaded artefacts shared by every checkout: $RDV_CACHE or ~/.cache/rendezvous."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rendezvous"
    return Path(os.environ.get("RDV_CACHE", default))
