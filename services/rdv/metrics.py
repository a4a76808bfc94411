"""Prometheus plumbing shared by the services: one registry per service instance."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, start_http_server

# Micro-batch evaluation times: from tens of microseconds (a linear model, one row) to a
# quarter second (a big forest on a big batch).
EVAL_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


def serve_metrics(registry: CollectorRegistry, port: int | None) -> None:
    """Expose /metrics on `port` (all interfaces, for Prometheus in a container); 0 or None
    means no endpoint."""
    if port:
        start_http_server(port, registry=registry)
