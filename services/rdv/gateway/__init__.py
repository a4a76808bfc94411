"""The Open Inference Protocol (V2) REST gateway: HTTP calls in, requests on Kafka, the
rendezvous's answers back out."""
