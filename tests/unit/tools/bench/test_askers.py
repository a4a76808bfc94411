"""Who asks the broker: each process's Kafka requests told by the TCP data segments it sent
to the broker's port, as `rdv bench e2e` reads them from `ss`."""

from __future__ import annotations

import os
import shutil
import socket
import threading

import pytest

from rdv_tools.bench.askers import (
    BrokerAskers,
    asked_per_request,
    local_askers,
    segments_by_pid,
)

SS = """\
0      0      127.0.0.1:46206      127.0.0.1:9092 users:(("python",pid=101,fd=9))
\t bbr wscale:1,10 rto:204 bytes_sent:2538 segs_out:35 segs_in:52 data_segs_out:29 data_segs_in:30
0      0      127.0.0.1:46222      127.0.0.1:9092 users:(("python",pid=101,fd=7))
\t bbr wscale:1,10 rto:204 segs_out:4 segs_in:3 data_segs_out:1 data_segs_in:1
0      0      127.0.0.1:9092      127.0.0.1:46206 users:(("java",pid=7,fd=200))
\t bbr wscale:1,10 rto:204 segs_out:52 data_segs_out:30 data_segs_in:29
0      0      127.0.0.1:50000      127.0.0.1:19092 users:(("python",pid=102,fd=5))
\t bbr wscale:1,10 rto:204 segs_out:9 data_segs_out:8
0      0      127.0.0.1:50002      127.0.0.1:9092
\t bbr wscale:1,10 rto:204 segs_out:9 data_segs_out:8
0      0      [::ffff:127.0.0.1]:50004      [::ffff:127.0.0.1]:9092 users:(("python",pid=103,fd=5))
\t bbr wscale:1,10 rto:204 segs_out:3 data_segs_out:2
"""


def test_segments_are_summed_per_process_over_its_connections_to_the_broker() -> None:
    # The broker's own side (local port 9092), another port and a connection with no process
    # (not ours to read) are not counted; an IPv6-mapped address is.
    assert segments_by_pid(SS, [9092]) == {101: 30, 103: 2}


def test_every_node_of_a_local_cluster_is_a_broker() -> None:
    # Port 19092 is a second node: the process talking to it asks the cluster too.
    assert segments_by_pid(SS, [9092, 19092]) == {101: 30, 102: 8, 103: 2}


def test_data_segments_are_not_confused_with_all_segments() -> None:
    line = (
        '0 0 127.0.0.1:1 127.0.0.1:9092 users:(("p",pid=5,fd=1))\n\t segs_out:40 data_segs_out:3\n'
    )
    assert segments_by_pid(line, [9092]) == {5: 3}


def test_requests_per_request_by_name_and_in_all() -> None:
    before = {101: 100, 102: 10}
    after = {101: 400, 102: 10, 103: 50}
    names = {"rendezvous": 101, "champion": 102, "client": 103, "gone": 104}
    assert asked_per_request(before, after, names, 100) == {
        "rendezvous": 3.0,
        "champion": 0.0,
        "client": 0.5,  # a process first seen in between counts from zero
        "total": 3.5,
    }
    assert asked_per_request(before, after, names, 0) == {}


def test_a_connection_closed_in_between_never_counts_negative() -> None:
    assert asked_per_request({101: 100}, {101: 40}, {"worker": 101}, 10)["worker"] == 0.0


def test_no_askers_where_no_broker_runs_here() -> None:
    assert local_askers([]) is None


@pytest.mark.skipif(shutil.which("ss") is None, reason="ss (iproute2) is not installed")
def test_the_requests_this_process_sends_to_a_listening_port_are_counted() -> None:
    """Across a real loopback connection: five small writes, each answered before the next
    (as a Kafka request is), are five data segments of this process."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while data := conn.recv(1024):
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    askers = local_askers([port])
    assert askers is not None and isinstance(askers, BrokerAskers)
    with socket.create_connection(("127.0.0.1", port)) as client:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        before = askers.read().get(os.getpid(), 0)
        for _ in range(5):
            client.sendall(b"request")
            assert client.recv(1024) == b"request"
        after = askers.read().get(os.getpid(), 0)
    server.close()
    assert after - before == 5
