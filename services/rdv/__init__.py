"""Rendezvous: serve machine-learning models on Kafka with the rendezvous architecture."""

__version__ = "0.1.0"
