"""The project's own error types. Library exceptions are re-raised as one of these."""

from __future__ import annotations


class RendezvousError(Exception):
    """Base of every error Rendezvous raises on purpose."""


class ConfigError(RendezvousError):
    """A setting, file or argument is wrong; the message says what and how to fix it."""


class CodecError(RendezvousError):
    """A value could not be encoded or decoded."""


class DecodeError(CodecError):
    """Bytes that are not a valid message of the expected schema. ``reason`` is one line."""

    def __init__(self, reason: str, request_id: str | None = None) -> None:
        # Reasons travel in dead letters and log lines: whatever a library said, one line.
        reason = " ".join(reason.split())
        super().__init__(reason)
        self.reason = reason
        # The request's own id, when it could be read though the request could not (written
        # with an incompatible schema): its client then finds the answer under it.
        self.request_id = request_id


class EncodeError(CodecError):
    """A record that does not fit its schema."""


class BrokerError(RendezvousError):
    """The embedded broker could not be fetched, started or stopped."""
