"""Print what installing the package needs, from pyproject.toml, one per line: its build
backend, its dependencies and those of the extras named. The images install them in a layer
of their own before the source is copied, then the package alone (no build isolation), so a
change of source rebuilds in seconds instead of fetching every wheel again.

    python requirements.py pyproject.toml [extra ...] > requirements.txt
"""

from __future__ import annotations

import sys
import tomllib


def requirements(pyproject: str, extras: list[str]) -> list[str]:
    with open(pyproject, "rb") as handle:
        document = tomllib.load(handle)
    project = document["project"]
    known = project.get("optional-dependencies", {})
    unknown = [extra for extra in extras if extra not in known]
    if unknown:
        raise SystemExit(
            f"error: no extra {', '.join(unknown)} in {pyproject}; known: {', '.join(known)}"
        )
    backend = list(document["build-system"]["requires"])
    return backend + list(project["dependencies"]) + [d for e in extras for d in known[e]]


if __name__ == "__main__":
    print("\n".join(requirements(sys.argv[1], sys.argv[2:])))
