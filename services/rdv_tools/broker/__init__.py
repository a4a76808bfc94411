"""The embedded Apache Kafka broker: jars from Maven Central, KRaft, loopback."""

from rdv.kafka.local_broker import BrokerState, default_data_dir, running_state
from rdv_tools.broker.embedded import EmbeddedBroker

__all__ = ["BrokerState", "EmbeddedBroker", "default_data_dir", "running_state"]
