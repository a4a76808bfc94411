"""A three-node Kafka cluster on loopback (`rdv broker start --nodes 3`): one cluster, every
topic on three replicas needing two in sync, a node lost without losing a message or stopping
writes, and the whole cluster back on its data and ports after `stop` and `start`."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from rdv.kafka import Outgoing, Producer, TopicSpec, create_topics
from rdv.kafka.admin import broker_ids, partition_leaders, topic_config
from rdv.kafka.local_broker import pid_is_broker, running_bootstrap
from rdv_tools.broker.cluster import running_nodes
from tests.cli import run_rdv
from tests.integration.test_broker import _rdv, _read_all

pytestmark = [pytest.mark.broker, pytest.mark.timeout(300), pytest.mark.parallel]


def _send(bootstrap: str, topic: str, values: range) -> None:
    producer = Producer(bootstrap)
    for i in values:
        producer.send(Outgoing(topic, f"m{i}".encode(), f"k{i}".encode()))
    producer.flush(30)  # DeliveryError if a message was not acknowledged


def _replicas(bootstrap: str, topic: str) -> set[int]:
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    return {len(p.replicas) for p in metadata.topics[topic].partitions.values()}


def test_a_three_node_cluster_keeps_every_message_through_the_loss_of_a_node(
    tmp_path: Path,
) -> None:
    started = _rdv("broker", "start", "--nodes", "3", home=tmp_path)
    try:
        assert started.returncode == 0, started.stderr
        bootstrap = started.stdout.strip().splitlines()[-1]
        assert len(bootstrap.split(",")) == 3
        assert running_bootstrap(tmp_path / "broker") == bootstrap  # what clients find
        assert broker_ids(bootstrap, timeout=5) == {1, 2, 3}
        status = _rdv("broker", "status", home=tmp_path)
        assert status.returncode == 0 and "3 of 3 nodes running" in status.stdout

        create_topics(bootstrap, [TopicSpec("kept", 3)])
        config = topic_config(bootstrap, "kept")
        assert config["min.insync.replicas"] == "2"
        assert _replicas(bootstrap, "kept") == {3}
        _send(bootstrap, "kept", range(100))

        # The node leading partition 0 dies; writes go on with the two left.
        victim = partition_leaders(bootstrap, ["kept"])[("kept", 0)]
        pid = next(pid for node, _, pid in running_nodes(tmp_path / "broker") if node == victim)
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while pid_is_broker(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        _send(bootstrap, "kept", range(100, 200))
        assert sorted(_read_all(bootstrap, "kept", "g-one-down", 200)) == sorted(
            f"m{i}".encode() for i in range(200)
        )
        assert _replicas(bootstrap, "__consumer_offsets") == {3}  # internal topics too
        status = _rdv("broker", "status", home=tmp_path)
        assert f"node {victim}: not running" in status.stdout

        # Stopped and started as a whole: the same ports, the same data.
        assert _rdv("broker", "stop", home=tmp_path).returncode == 0
        assert running_bootstrap(tmp_path / "broker") is None
        again = _rdv("broker", "start", "--nodes", "3", home=tmp_path)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip().splitlines()[-1] == bootstrap
        assert len(_read_all(bootstrap, "kept", "g-after-restart", 200)) == 200
    finally:
        _rdv("broker", "stop", home=tmp_path)
    assert running_bootstrap(tmp_path / "broker") is None


def test_a_cluster_and_a_single_node_do_not_mix_on_one_data_dir(tmp_path: Path) -> None:
    (tmp_path / "broker" / "node-1").mkdir(parents=True)
    (tmp_path / "broker" / "cluster.json").write_text('{"nodes": 3, "cluster_id": "x"}')
    single = _rdv("broker", "start", home=tmp_path)
    assert single.returncode == 2
    assert single.stderr.strip().startswith("error: ") and "--nodes" in single.stderr
    other_size = _rdv("broker", "start", "--nodes", "5", home=tmp_path)
    assert other_size.returncode != 0 and "another size" in other_size.stderr


@pytest.mark.timeout(480)
def test_a_benchmark_on_a_local_cluster_is_charged_every_node(tmp_path: Path) -> None:
    """`rdv bench e2e` on `rdv broker start --nodes 3`: the CPU, the counters and the askers
    of all three nodes, not the first alone."""
    started = _rdv("broker", "start", "--nodes", "3", home=tmp_path)
    try:
        assert started.returncode == 0, started.stderr
        figures = tmp_path / "e2e.json"
        bootstrap = started.stdout.strip().splitlines()[-1]
        # ~50 s alone (a floor, a warm-up, the idle stack, the rate): more time than `_rdv`
        # gives, for a machine busy with the rest of the suite.
        run = run_rdv(
            *("bench", "e2e", "--rates", "20", "--seconds", "3", "--models", "champion"),
            *("--delivery", "at_least_once", "--json", str(figures), "-b", bootstrap),
            timeout=240,
        )
        assert run.returncode == 0, run.stderr
        (rate,) = json.loads(figures.read_text())["rates"]
        nodes = ("broker", "broker 2", "broker 3")
        # Every node leads some partitions and follows the others: each is charged CPU.
        assert all(rate["cpu_us"][node] > 0 for node in nodes), rate["cpu_us"]
        assert all(rate["cpu_us"][f"{node} JIT"] <= rate["cpu_us"][node] for node in nodes)
        assert rate["cpu_us"]["total"] >= sum(rate["cpu_us"][node] for node in nodes)
        # The counters of the three nodes added up: at least the stack's own produce
        # requests (the client's, the worker's and the rendezvous's for each request).
        assert rate["broker_served"]["produce"] >= 3
        # Who asks: the services' requests to any node; the nodes themselves are not askers.
        asked = rate["asked_by"]
        assert min(asked["client"], asked["login-bot@2"], asked["rendezvous"]) >= 1
        assert not set(nodes) & set(asked)
    finally:
        _rdv("broker", "stop", home=tmp_path)
