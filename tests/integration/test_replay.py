"""`rdv replay` across a real broker: archived requests go through the stack again as new
requests, their answers never meet the original clients, and the decoy does not archive
them twice."""

from __future__ import annotations

import re
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from rdv.client import RendezvousClient
from rdv_tools.broker.embedded import listening_port
from tests.integration.harness import CODEC, eventually, read_until, services
from tests.integration.stack import StackTopics
from tests.integration.test_decoy import archived
from tests.integration.test_rendezvous import CONFIG, models, start_workers, warm_up
from tests.unit.tools.replay.test_replay_cmd import rdv

pytestmark = pytest.mark.broker
FEATURES = {"failed_logins": 3.0, "account_age_days": 40.0, "country": "US"}


def metric(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_replayed_requests_are_answered_as_new_ones_and_not_archived_again(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    stack = StackTopics(kafka_bootstrap)
    stack.publish(CONFIG)
    archive = tmp_path / "archive"
    decoy_port = listening_port()
    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        start_workers(launch, models(tmp_path), skip=("login-bot@3", "login-bot@1"))
        launch("rendezvous")
        launch(
            "decoy", "--archive", str(archive), "--roll-seconds", "1",
            "--metrics-port", str(decoy_port),
        )  # fmt: skip
        warm_up(stack)
        with RendezvousClient(stack.bootstrap, stack["requests"], stack["answers"]) as client:
            originals = client.predict_many([FEATURES] * 20, timeout=30)
        ids = {a["request_id"] for a in originals}
        rows = eventually(
            lambda: (r := archived(archive)) and ids <= {x["request_id"] for x in r} and r,
            60,
            "the requests in the archive",
        )
        in_archive = len({r["dedupe_key"] for r in rows})

        done = rdv(
            "replay", "--archive", str(archive), "--since", "1h", "--run", "t1",
            "--topic", stack["requests"], "--bootstrap", stack.bootstrap,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert f"replayed {in_archive} request(s)" in done.stderr, done.stderr

        replayed = {f"{i}@replay:t1" for i in ids}
        messages = read_until(
            stack.bootstrap,
            stack["answers"],
            lambda m: replayed <= {CODEC.decode("Answer", x.value)["request_id"] for x in m},
            90,
            quiet=1.0,
        )
        # The decoy saw every replayed request and archived none of them.
        eventually(
            lambda: metric(decoy_port, "rdv_decoy_replayed_skipped_total") == in_archive,
            30,
            "the decoy to skip the replay",
        )
        time.sleep(1.5)  # past a segment roll: anything it had taken in would be on disk
        after = archived(archive)
    answers = [CODEC.decode("Answer", m.value) for m in messages]
    by_id = Counter(a["request_id"] for a in answers)
    # The originals were answered once, and the replay did not answer them again.
    assert all(by_id[i] == 1 for i in ids), {i: by_id[i] for i in ids}
    again = [a for a in answers if a["request_id"] in replayed]
    assert len(again) == len(replayed)
    # Scored by the champion as new traffic, inside the SLA from when they were replayed.
    assert all(a["model"] == "login-bot@2" and not a["late"] for a in again), again
    assert len(after) == len(rows)
    assert not any("@replay" in (r["request_id"] or "") for r in after)
