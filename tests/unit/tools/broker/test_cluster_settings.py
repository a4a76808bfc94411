"""What makes three broker processes one cluster: one quorum, three replicas, two in sync."""

from __future__ import annotations

import json
from pathlib import Path

from rdv.kafka.local_broker import node_dirs, running_bootstrap
from rdv_tools.broker.properties import Node, server_settings


def test_each_node_names_itself_and_the_whole_quorum(tmp_path: Path) -> None:
    node = Node(2, (19093, 19095, 19097))
    settings = server_settings(19094, 19095, tmp_path, node)
    assert settings["node.id"] == "2"
    assert settings["controller.quorum.voters"] == (
        "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"
    )
    assert settings["default.replication.factor"] == "3"
    assert settings["min.insync.replicas"] == "2"
    assert settings["transaction.state.log.replication.factor"] == "3"
    assert settings["transaction.state.log.min.isr"] == "2"
    assert settings["offsets.topic.replication.factor"] == "3"
    assert int(settings["broker.session.timeout.ms"]) < 9000  # failover in seconds


def test_a_single_node_replicates_nothing(tmp_path: Path) -> None:
    settings = server_settings(9092, 9093, tmp_path)
    assert settings["node.id"] == "1"
    assert settings["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert settings["offsets.topic.replication.factor"] == "1"
    assert settings["min.insync.replicas"] == "1"
    assert "broker.session.timeout.ms" not in settings


def test_a_cluster_dir_is_told_from_a_single_broker_dir(tmp_path: Path) -> None:
    assert node_dirs(tmp_path) == [] and running_bootstrap(tmp_path) is None
    (tmp_path / "cluster.json").write_text(json.dumps({"nodes": 3, "cluster_id": "c"}))
    assert node_dirs(tmp_path) == [tmp_path / f"node-{i}" for i in (1, 2, 3)]
    assert running_bootstrap(tmp_path) is None  # no node runs
