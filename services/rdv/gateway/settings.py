"""Gateway settings. Environment: RDV_GATEWAY_* (e.g. RDV_GATEWAY_PORT)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from rdv.topics import ANSWERS, REQUESTS


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RDV_GATEWAY_", frozen=True, extra="ignore")

    host: str = "127.0.0.1"  # 0.0.0.0 in a container
    port: int = Field(8000, ge=0, le=65535)  # Triton's and MLServer's HTTP port
    # The name clients infer with (`/v2/models/{name}/infer`): the rendezvous behind it
    # answers with whichever model the rollout says, named in the response's parameters.
    model_name: str = "rendezvous"
    # Where the champion's features are read for the model metadata (optional).
    registry: Path | None = None
    # How long a call waits for its answer when it gives no timeout of its own; the
    # rendezvous answers inside its SLA, so this only ends calls nobody is answering.
    answer_timeout_ms: int = Field(2000, ge=1, le=600_000)
    max_rows: int = Field(1024, ge=1)  # rows in one call
    max_body_bytes: int = Field(16 * 1024 * 1024, ge=1)
    requests_topic: str = REQUESTS.name
    answers_topic: str = ANSWERS.name
