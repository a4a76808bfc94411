"""The ops/ files users run as they are: compose, Prometheus config and rules, the dashboard."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rdv_tools.broker.properties import container_environment
from rdv_tools.up.plan import PORT_OFFSETS
from rdv_tools.up.prometheus import find_binary, local_config

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_kafka_behaves_like_the_embedded_broker() -> None:
    environment = {k: str(v) for k, v in COMPOSE["services"]["kafka"]["environment"].items()}
    expected = container_environment()
    assert {k: environment.get(k) for k in expected} == expected


def test_the_kafka_variable_names_follow_the_official_image() -> None:
    env = container_environment()
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "1"
    assert "KAFKA_LISTENERS" not in env  # where a broker listens is the caller's to say


def test_prometheus_scrapes_every_service_compose_runs() -> None:
    config = yaml.safe_load((ROOT / "ops" / "prometheus.yml").read_text())
    scraped = {
        target.split(":")[0]
        for job in config["scrape_configs"]
        for group in job.get("static_configs", [])
        for target in group["targets"]
    } | {
        name
        for job in config["scrape_configs"]
        for discovered in job.get("dns_sd_configs", [])
        for name in discovered["names"]
    }
    serving = {
        name
        for name, service in COMPOSE["services"].items()
        # Our services' probes ask their own HTTP endpoint: /metrics, or the gateway's health.
        if "healthcheck" in service and "http://127.0.0.1:" in json.dumps(service["healthcheck"])
    }
    assert scraped == serving == set(PORT_OFFSETS)


def test_local_config_points_each_service_at_its_local_port(tmp_path: Path) -> None:
    path = local_config(tmp_path, {"rendezvous": [9500], "champion": [9501, 9511]})
    config = yaml.safe_load(path.read_text())
    targets = {
        group["labels"]["service"]: group["targets"]
        for job in config["scrape_configs"]
        for group in job["static_configs"]
    }
    assert targets == {
        "rendezvous": ["127.0.0.1:9500"],
        "champion": ["127.0.0.1:9501", "127.0.0.1:9511"],  # one target per replica
    }
    assert not any("relabel_configs" in job for job in config["scrape_configs"])
    assert (tmp_path / "prometheus-rules.yml").exists()


def test_promtool_accepts_the_config_and_rules() -> None:
    binary = find_binary(fetch=False)
    if binary is None:
        pytest.skip("no Prometheus binary here (`rdv up` fetches Debian's package)")
    promtool = binary.parent / "promtool"
    result = subprocess.run(
        [str(promtool), "check", "config", str(ROOT / "ops" / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


def test_dashboard_panels_each_have_a_query_and_the_provisioned_datasource() -> None:
    dashboard = json.loads(
        (ROOT / "ops" / "grafana" / "dashboards" / "rendezvous.json").read_text()
    )
    datasources = yaml.safe_load(
        (ROOT / "ops" / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    uid = datasources["datasources"][0]["uid"]
    assert dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == uid
        assert all(target["expr"] for target in panel["targets"]), panel["title"]


def test_the_images_dependency_layer_lists_the_backend_dependencies_and_extras() -> None:
    script = ROOT / "ops" / "docker" / "requirements.py"
    listed = subprocess.run(
        [sys.executable, str(script), str(ROOT / "pyproject.toml"), "onnx"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listed[0].startswith("hatchling")  # the package installs without build isolation
    assert "confluent-kafka>=2.6" in listed and listed[-1].startswith("onnxruntime")
    wrong = subprocess.run(
        [sys.executable, str(script), str(ROOT / "pyproject.toml"), "gpu"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert wrong.returncode == 1
    assert wrong.stderr.strip().startswith("error: no extra gpu in")
    for name in ("worker", "rendezvous", "decoy"):  # the source comes after that layer
        dockerfile = (ROOT / "ops" / "docker" / f"{name}.Dockerfile").read_text()
        assert dockerfile.index("-r requirements.txt") < dockerfile.index("COPY services/")
