"""The Kafka broker every integration test uses, started once per test session.

Order of preference: KAFKA_BOOTSTRAP_SERVERS (any broker you point at), the official
apache/kafka image through testcontainers when RDV_TESTCONTAINERS=1 and a Docker engine runs,
else a real embedded broker on loopback, started and stopped here.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rdv.kafka import TopicSpec, create_topics
from rdv_tools.broker import EmbeddedBroker

UNIT = Path(__file__).parent / "unit"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Unit tests read no clock another process can slow past a bound, so `make test` may run
    # them beside the other `parallel` tests; marking them here spares 60 files a line each.
    for item in items:
        if item.path.is_relative_to(UNIT):
            item.add_marker(pytest.mark.parallel)


def _testcontainers_broker() -> Iterator[str]:
    """The apache/kafka image (or the local stand-in of ops/images) as a single KRaft node.
    testcontainers' KafkaContainer only knows Confluent's images, so this configures the
    official image by its KAFKA_* variables, advertising the host port it is bound to."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    from rdv_tools.broker.embedded import listening_port
    from rdv_tools.broker.properties import container_environment

    image = os.environ.get("RDV_KAFKA_IMAGE", "apache/kafka:4.3.1")
    port = listening_port()
    settings = {
        **container_environment(),
        "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://127.0.0.1:{port}",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
    }
    container = DockerContainer(image).with_bind_ports(9092, port)
    for name, value in settings.items():
        container = container.with_env(name, value)
    container = container.waiting_for(
        LogMessageWaitStrategy("Kafka Server started").with_startup_timeout(120)
    )
    with container:
        yield f"127.0.0.1:{port}"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
    elif os.environ.get("RDV_TESTCONTAINERS") == "1":
        yield from _testcontainers_broker()
    else:
        with EmbeddedBroker.throwaway() as broker:
            yield broker.bootstrap


@pytest.fixture
def new_topic(kafka_bootstrap: str) -> Callable[..., str]:
    """Make a topic with a unique name, so tests never see each other's messages."""

    def make(partitions: int = 1, prefix: str = "t", **config: str) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        create_topics(kafka_bootstrap, [TopicSpec(name, partitions, config)])
        return name

    return make


@pytest.fixture
def group_id() -> str:
    return f"g-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One local SparkSession for the whole run: starting Spark costs seconds."""
    from pyspark.sql import SparkSession

    from rdv_tools.spark_classes import SparkClasses

    # Python workers run this interpreter, which has the project (the champion scores there).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    # The class archive as `rdv train` maps it (or writes it, the first time on a machine).
    classes = SparkClasses()
    session = (
        SparkSession.builder.master("local[2]")
        .appName("rdv-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.defaultJavaOptions", " ".join(classes.options()))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    classes.stop(session)


@pytest.fixture(scope="session")
def schema_registry_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Confluent-compatible registry (Apicurio, fetched from Maven Central once) for the
    whole run, with its own state directory: `rdv registry`'s own instance is left alone."""
    from rdv_tools.broker.embedded import listening_port
    from rdv_tools.registry import apicurio

    directory = tmp_path_factory.mktemp("schema-registry")
    state = apicurio.start(listening_port(), directory)
    try:
        yield state.url
    finally:
        apicurio.stop(directory)
