"""The Kafka adapter: the only code that imports confluent_kafka."""

from rdv.kafka.admin import TopicSpec, cluster_ready, create_topics, topic_partitions
from rdv.kafka.consumer import Consumer, ConsumerError
from rdv.kafka.envelopes import Message, Offset, Outgoing, TopicPartition
from rdv.kafka.producer import DeliveryError, Producer
from rdv.kafka.settings import KafkaSettings
from rdv.kafka.transactions import (
    Standby,
    Transactions,
    connected_producer,
    open_producer,
    standby,
)
from rdv.kafka.writers import AtLeastOnceWriter, TransactionalWriter, TransactionFailure

__all__ = [
    "AtLeastOnceWriter",
    "Consumer",
    "ConsumerError",
    "DeliveryError",
    "KafkaSettings",
    "Message",
    "Offset",
    "Outgoing",
    "Producer",
    "Standby",
    "TopicPartition",
    "TopicSpec",
    "TransactionFailure",
    "TransactionalWriter",
    "Transactions",
    "cluster_ready",
    "connected_producer",
    "create_topics",
    "open_producer",
    "standby",
    "topic_partitions",
]
