"""The Kafka adapter: the only code that imports confluent_kafka."""

from rdv.kafka.admin import TopicSpec, cluster_ready, create_topics, topic_partitions
from rdv.kafka.consumer import Consumer, ConsumerError
from rdv.kafka.dead_letters import DEAD_LETTERS_TOPIC, dead_letter
from rdv.kafka.envelopes import Message, Outgoing, TopicPartition
from rdv.kafka.producer import DeliveryError, Producer
from rdv.kafka.settings import KafkaSettings

__all__ = [
    "DEAD_LETTERS_TOPIC",
    "Consumer",
    "ConsumerError",
    "DeliveryError",
    "KafkaSettings",
    "Message",
    "Outgoing",
    "Producer",
    "TopicPartition",
    "TopicSpec",
    "cluster_ready",
    "create_topics",
    "dead_letter",
    "topic_partitions",
]
