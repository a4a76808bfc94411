"""Fetch into the cache, ahead of the tests that need them, what a fresh machine downloads on
first use: Apicurio Registry (Maven Central), MLServer's virtualenv (PyPI) and Prometheus
(Debian). `.ci/run` runs this in the background beside the lint and the parallel tests; each
fetch holds the cache's lock, so a test that needs one meanwhile waits for it instead of
fetching it again."""

from __future__ import annotations

import time

from rdv_tools.bench.mlserver import ensure_mlserver
from rdv_tools.registry.apicurio import ensure_runner
from rdv_tools.up.prometheus import find_binary

for name, fetch in (
    ("Apicurio Registry", ensure_runner),
    ("MLServer", ensure_mlserver),
    ("Prometheus", find_binary),
):
    began = time.monotonic()
    where: object
    try:
        where = fetch()
    except Exception as error:  # the test that needs it fetches again, and says why it failed
        where = f"not fetched: {error}"
    print(f"{name}: {where} ({time.monotonic() - began:.0f} s)", flush=True)
