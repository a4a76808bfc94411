"""`rdv report` from a real stack's records, feedback and rollout history, opened in a real
headless browser: every plot draws and the page reports no error."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from rdv.client import RendezvousClient
from tests.browser import body_attributes, screenshot
from tests.integration.harness import services
from tests.integration.stack import StackTopics
from tests.integration.test_client import send_feedbacks
from tests.integration.test_rendezvous import CONFIG, models, records, start_workers, warm_up
from tests.unit.tools.replay.test_replay_cmd import rdv

pytestmark = pytest.mark.broker
BOT = {"failed_logins": 9.0, "account_age_days": 2.0, "country": "FR"}
HUMAN = {"failed_logins": 0.0, "account_age_days": 900.0, "country": "US"}


def test_the_report_shows_every_plot_in_a_browser(kafka_bootstrap: str, tmp_path: Path) -> None:
    stack = StackTopics(kafka_bootstrap)
    stack.publish(CONFIG)
    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        # The champion and the canary: every plot and table has its two references.
        start_workers(launch, models(tmp_path), skip=("login-bot@3", "fast@1"))
        launch("rendezvous")
        sent = warm_up(stack)
        with RendezvousClient(stack.bootstrap, stack["requests"], stack["answers"]) as client:
            first = client.predict_many([BOT, HUMAN] * 30, timeout=30)
            stack.publish(CONFIG, shadow=("fast@1",), comment="shadow fast@1")
            second = client.predict_many([HUMAN, BOT] * 30, timeout=30)
        send_feedbacks(stack, [(a, a["label"], None) for a in first + second])
        records(stack, sent + len(first) + len(second))
    page = tmp_path / "report.html"
    done = rdv(
        "report", "--since", "10m", "-o", str(page), "--bootstrap", stack.bootstrap,
        "--log-topic", stack["rendezvous.log"], "--feedback-topic", stack["feedback"],
        "--config-topic", stack["rendezvous.config"],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "left out" not in done.stderr, done.stderr
    text = page.read_text()
    for expected in ("<td>login-bot@2</td>", "<td>login-bot@1</td>", "shadow fast@1"):
        assert expected in text
    assert "Nothing to show" not in text  # every table has rows, feedback quality included

    attributes = body_attributes(page, tmp_path)
    assert "error" not in attributes, attributes["error"]
    assert attributes.get("plots") == "7", attributes
    image = screenshot(page, tmp_path / "report.png", tmp_path)
    # The plots are drawn: against the same page with its images taken out, the screenshot
    # has far more ink and colours (lines, fills, axes), whatever the page's length.
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r"<img [^>]*>", "", text))
    without = screenshot(bare, tmp_path / "bare.png", tmp_path)
    assert ink(image) > 2 * ink(without), (ink(image), ink(without))
    assert colours(image) > 2 * colours(without), (colours(image), colours(without))


def ink(image: np.ndarray) -> float:
    return float((image < 0.95).any(axis=2).mean())


def colours(image: np.ndarray) -> int:
    return len(np.unique((image * 255).astype(np.uint8).reshape(-1, 3), axis=0))
