"""Finding a running stack from its state file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from rdv_tools.up.launch import running_stack, state_file


def test_no_file_no_stack(tmp_path: Path) -> None:
    # `rdv down` polls while the supervisor removes the file: absence is an answer, not an error.
    assert running_stack(tmp_path) is None


def test_a_live_supervisor_is_a_stack_and_a_dead_one_is_not(tmp_path: Path) -> None:
    state_file(tmp_path).write_text(json.dumps({"supervisor_pid": os.getpid(), "services": {}}))
    assert running_stack(tmp_path) == {"supervisor_pid": os.getpid(), "services": {}}
    state_file(tmp_path).write_text(json.dumps({"supervisor_pid": 2**22 + 7, "services": {}}))
    assert running_stack(tmp_path) is None
