"""Thompson sampling end to end across a real broker: feedback on the answers moves the
traffic to the model that earns the rewards."""

from __future__ import annotations

import json
import re
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from rdv.client import RendezvousClient
from rdv_tools.broker.embedded import listening_port
from tests.integration.harness import eventually, services
from tests.integration.stack import StackTopics
from tests.integration.test_client import rdv, send_feedbacks
from tests.integration.test_rendezvous import CONFIG, models, start_workers, warm_up

pytestmark = pytest.mark.broker
FEATURES = {"failed_logins": 3.0, "account_age_days": 40.0, "country": "US"}


def posterior_means(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'^rdv_thompson_mean\{model="([^"]+)"\} (\S+)$', text, re.M)
    }


def test_rewards_move_the_traffic_to_the_model_that_earns_them_and_survive_a_crash(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    stack = StackTopics(kafka_bootstrap)
    stack.publish(CONFIG.evolve(mode="thompson"))
    port = listening_port()
    with services(tmp_path, stack.bootstrap, stack.env) as launch:
        # Every model of the config: a mailbox closes as soon as all have reported, so the
        # feedback below finds it closed (with one missing it would wait out the SLA).
        start_workers(launch, models(tmp_path))
        named = {"RDV_RENDEZVOUS_INSTANCE": "thompson"}
        rendezvous = launch("rendezvous", "--metrics-port", str(port), **named)
        warm_up(stack)
        with RendezvousClient(stack.bootstrap, stack["requests"], stack["answers"]) as client:
            # The application rewards login-bot@3's answers and not login-bot@2's, until the
            # posteriors have clearly parted and login-bot@2 has lost at least once (feedback
            # joins only closed requests, so some of it may arrive too early and be ignored:
            # the loop goes on until it has counted).
            deadline = time.monotonic() + 120
            while True:
                batch = client.predict_many([FEATURES] * 10, timeout=30)
                time.sleep(0.5)  # let the mailboxes close: every model has reported by now
                send_feedbacks(
                    stack,
                    [(a, None, 1.0 if a["model"] == "login-bot@3" else 0.0) for a in batch],
                )
                time.sleep(1.0)
                means = posterior_means(port)
                if means.get("login-bot@3", 0) > 0.9 and means.get("login-bot@2", 1) < 0.5:
                    break
                assert time.monotonic() < deadline, means
            # What feedback taught is in the state changelog, committed with the feedback's
            # offsets: a rendezvous killed and restarted under its name draws from it at once.
            time.sleep(1.0)
            learned = posterior_means(port)
            rendezvous.signal(signal.SIGKILL)
            rendezvous.wait()
            port = listening_port()
            launch("rendezvous", "--metrics-port", str(port), **named)
            restored = eventually(lambda: posterior_means(port), 60, "restored posteriors")
            assert restored == learned, (restored, learned)
            # A restarted rendezvous's first answers come while the workers' scores of the
            # requests it re-reads still arrive: some are decided by a later tier.
            warm_up(stack)
            final = client.predict_many([FEATURES] * 40, timeout=30)
    preferred = [a for a in final if a["reason"] == "preferred"]
    assert len(preferred) >= 35, [(a["model"], a["reason"]) for a in final]
    # Once login-bot@2 has lost and login-bot@3's mean is above 0.9, @2 wins a draw at most
    # about 4% of the time.
    by_three = sum(a["model"] == "login-bot@3" for a in preferred)
    assert by_three >= 0.75 * len(preferred), [a["model"] for a in preferred]
    # The evidence is readable where it is kept: `rdv consume` shows each partition's entry.
    shown = rdv(stack, "consume", stack["rendezvous.state"], "--schema", "Answer", "--timeout", "3")
    entries = [json.loads(line) for line in shown.stdout.splitlines()]
    evidence = [e["posteriors"] for e in entries if "posteriors" in e]
    assert any("login-bot@3" in e for e in evidence), shown.stdout[-2000:]
