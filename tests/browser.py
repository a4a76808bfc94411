"""A real headless browser for pages the project writes: Debian's chromium.

Tests that need it skip where none is installed, unless RDV_REQUIRE_CHROMIUM=1 (CI installs
it), where a missing browser fails instead."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("RDV_REQUIRE_CHROMIUM") == "1":
        pytest.fail("RDV_REQUIRE_CHROMIUM=1 and no chromium: apt-get install chromium")
    pytest.skip("no headless chromium here (apt-get install chromium)")


def _run(page: Path, *args: str, home: Path) -> str:
    done = subprocess.run(
        [chromium(), *FLAGS, *args, page.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(home)},  # its profile stays in the test's directory
        check=True,
    )
    return done.stdout


def body_attributes(page: Path, home: Path) -> dict[str, str]:
    """The <body>'s data- attributes once the page has loaded and its scripts have run."""
    dom = _run(page, "--dump-dom", home=home)
    body = re.search(r"<body([^>]*)>", dom)
    assert body, dom[:500]
    return dict(re.findall(r'data-([\w-]+)="([^"]*)"', body.group(1)))


def screenshot(
    page: Path, out: Path, home: Path, width: int = 1100, height: int = 4300
) -> np.ndarray:
    """The page as the browser draws it, as an RGB array."""
    _run(page, f"--screenshot={out}", f"--window-size={width},{height}", home=home)
    return imread(out)[:, :, :3]
