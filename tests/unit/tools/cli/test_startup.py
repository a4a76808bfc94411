"""Every service starts through the CLI (`rdv rendezvous`, `rdv worker`, ...), and the model
and rendezvous images install no optional extra: importing the CLI must not import one."""

from __future__ import annotations

import subprocess
import sys

EXTRAS = ("pyarrow", "pandas", "matplotlib", "pyspark", "onnxruntime", "tritonclient")


def test_the_cli_imports_no_optional_extra() -> None:
    # A fresh interpreter: this test process has imported all sorts already. (The compose
    # test found it first: `rdv replay` imported pyarrow at the top, and the rendezvous
    # container, which has none, died at start.)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, rdv_tools.cli.main; "
            f"print(' '.join(m for m in {EXTRAS!r} if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == []
