"""Where an embedded broker listens, and who may start one it owns."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from rdv.errors import BrokerError
from rdv_tools.broker import EmbeddedBroker
from rdv_tools.broker.embedded import _ephemeral_range, listening_port


def test_a_new_port_is_below_the_ephemeral_range() -> None:
    low, _ = _ephemeral_range()
    ports = {listening_port() for _ in range(20)}
    assert all(1024 <= port < low for port in ports)


def test_the_previous_port_is_kept_when_free_and_left_when_taken() -> None:
    port = listening_port()
    assert listening_port(port) == port
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        assert listening_port(port) != port


def test_an_owned_broker_cannot_be_started_from_a_thread(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            EmbeddedBroker(tmp_path, owned=True).start()
        except BrokerError as exc:
            errors.append(exc)

    thread = threading.Thread(target=start)
    thread.start()
    thread.join(30)
    assert errors and "main thread" in str(errors[0])
    with pytest.raises(FileNotFoundError):
        (tmp_path / "broker.json").read_text()  # nothing was started


def test_cluster_ids_never_look_like_options() -> None:
    from rdv_tools.broker.properties import new_cluster_id

    ids = [new_cluster_id() for _ in range(2000)]  # a leading "-" would come ~30 times
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(i) == 22 for i in ids)
