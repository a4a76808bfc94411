"""The Kafka adapter: the only code that imports confluent_kafka."""

from rdv.kafka.admin import TopicSpec, cluster_ready, create_topics, topic_partitions
from rdv.kafka.consumer import Consumer, ConsumerError
from rdv.kafka.dead_letters import DEAD_LETTERS_TOPIC, dead_letter
from rdv.kafka.envelopes import Message, Offset, Outgoing, TopicPartition
from rdv.kafka.producer import DeliveryError, Producer
from rdv.kafka.settings import KafkaSettings
from rdv.kafka.transactions import Transactions, open_producer
from rdv.kafka.writers import AtLeastOnceWriter, TransactionalWriter, TransactionFailure

__all__ = [
    "DEAD_LETTERS_TOPIC",
    "AtLeastOnceWriter",
    "Consumer",
    "ConsumerError",
    "DeliveryError",
    "KafkaSettings",
    "Message",
    "Offset",
    "Outgoing",
    "Producer",
    "TopicPartition",
    "TopicSpec",
    "TransactionFailure",
    "TransactionalWriter",
    "Transactions",
    "cluster_ready",
    "create_topics",
    "dead_letter",
    "open_producer",
    "topic_partitions",
]
