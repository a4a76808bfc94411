"""The Kafka broker every integration test uses, started once per test session.

Order of preference: KAFKA_BOOTSTRAP_SERVERS (any broker you point at), the official
apache/kafka image through testcontainers when RDV_TESTCONTAINERS=1 and a Docker engine runs,
else a real embedded broker on loopback, started and stopped here.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from rdv.broker import EmbeddedBroker
from rdv.kafka import TopicSpec, create_topics


def _testcontainers_broker() -> Iterator[str]:
    from testcontainers.kafka import KafkaContainer

    image = os.environ.get("RDV_KAFKA_IMAGE", "apache/kafka:4.1.0")
    with KafkaContainer(image).with_kraft() as container:
        yield container.get_bootstrap_server()


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

    session = (
        SparkSession.builder.master("local[2]")
        .appName("rdv-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
