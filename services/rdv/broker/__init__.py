"""The embedded Apache Kafka broker: jars from Maven Central, KRaft, loopback."""

from rdv.broker.embedded import EmbeddedBroker
from rdv.kafka.local_broker import BrokerState, default_data_dir, running_state

__all__ = ["BrokerState", "EmbeddedBroker", "default_data_dir", "running_state"]
