"""Connection settings for every Kafka client, and the low-latency defaults we run with."""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Each default is chosen for request/response latency on a loopback or LAN broker, where a
# few milliseconds of batching buy nothing and cost the SLA directly.
PRODUCER_LATENCY_DEFAULTS: dict[str, Any] = {
    # Send at once. A request crosses three produce hops (client, worker, rendezvous), and 1 ms
    # of linger on each put 3 ms on every answer (three-hop floor p50 1.1 ms at 0, 4.8 ms with
    # 1 ms). Bursts still share requests: what queues while one is in flight goes in the next.
    "linger.ms": 0,
    # Idempotence (implies acks=all): a retried send never duplicates a score or an answer.
    "enable.idempotence": True,
    # One produce request on the wire per connection; the next waits, filling, until it is
    # answered. With more, librdkafka (2.16) spins its broker thread at a full core whenever
    # idempotence's five requests per partition are in flight and more messages wait: it
    # schedules its next wake-up for "now" before it checks that window. On two cores shared
    # with the broker, clients spinning so starved the broker and turned its hiccups into
    # stalls of hundreds of ms (docs/performance.md, "Producers that spin while Kafka is slow").
    "max.in.flight.requests.per.connection": 1,
    # Small messages: Nagle's algorithm would hold each one back up to 40 ms.
    "socket.nagle.disable": True,
}
CONSUMER_LATENCY_DEFAULTS: dict[str, Any] = {
    # A fetch is a long poll: the broker answers as soon as one byte (fetch.min.bytes) arrives,
    # so this bounds only empty fetches. Measured here: 5 ms made idle consumers flood the
    # broker with empty fetches and raised end-to-end p99 from 278 to 524 ms at 50 req/s; 500
    # ms against 100 cut an idle stack from 8.4% of a core to 3.1% (the broker 6.3 -> 2.1%),
    # its latency at 100 requests/s no worse (docs/performance.md).
    "fetch.wait.max.ms": 500,
    "fetch.min.bytes": 1,
    # librdkafka >= 2.3 pauses 1 s before fetching again once its local queue is full enough;
    # with small queues that pause lands straight on the latency of the next request.
    "fetch.queue.backoff.ms": 1,
    # Matching backoff after a fetch error (default 500 ms), so a leader move costs ms, not 0.5 s.
    "fetch.error.backoff.ms": 10,
    "socket.nagle.disable": True,
    # Offsets are stored by us after the work they stand for is durably written, never by poll.
    "enable.auto.offset.store": False,
    # Stored offsets are committed in the background every second; close() commits the rest.
    "enable.auto.commit": True,
    "auto.commit.interval.ms": 1000,
    # Rebalances move only the partitions that must move: the others keep being served.
    "partition.assignment.strategy": "cooperative-sticky",
    # A dead instance is noticed in seconds, not the 45 s default.
    "session.timeout.ms": 10000,
    "heartbeat.interval.ms": 1000,
    "auto.offset.reset": "earliest",
    "enable.partition.eof": False,
}


class KafkaSettings(BaseSettings):
    """Where the brokers are and how to reach them. Environment: KAFKA_* (e.g.
    KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_PASSWORD)."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", frozen=True, extra="ignore")

    bootstrap_servers: str | None = None
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: str | None = None
    ssl_certificate_location: str | None = None
    ssl_key_location: str | None = None
    ssl_key_password: SecretStr | None = None
    # Any other librdkafka property, e.g. KAFKA_EXTRA='{"client.rack": "a"}'.
    extra: dict[str, str] = Field(default_factory=dict)
    # The client's and the workers' producers send at once, and linger this long while they
    # send at least `busy_per_s` messages a second (rdv.kafka.pace); 0 for either: never.
    busy_linger_ms: float = Field(default=3.0, ge=0, le=1000)
    busy_per_s: float = Field(default=500.0, ge=0)

    def client_config(self, bootstrap: str) -> dict[str, Any]:
        """librdkafka properties for a client of `bootstrap`, secrets included (never log it)."""
        config: dict[str, Any] = {
            "bootstrap.servers": bootstrap,
            "security.protocol": self.security_protocol,
        }
        optional: dict[str, str | SecretStr | None] = {
            "sasl.mechanism": self.sasl_mechanism,
            "sasl.username": self.sasl_username,
            "sasl.password": self.sasl_password,
            "ssl.ca.location": self.ssl_ca_location,
            "ssl.certificate.location": self.ssl_certificate_location,
            "ssl.key.location": self.ssl_key_location,
            "ssl.key.password": self.ssl_key_password,
        }
        for key, value in optional.items():
            if value is not None:
                config[key] = value.get_secret_value() if isinstance(value, SecretStr) else value
        return config
