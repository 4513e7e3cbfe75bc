"""Loopback addresses: the server listens on one, and its start line says which (README, MOCK_HOST)."""

from __future__ import annotations

import json
import socket
import urllib.request

import pytest

from tests.helpers import wait_for

from .server import ServerProcess


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
def test_mock_host_ipv6_loopback_serves_over_ipv6(tmp_path):
    server = ServerProcess(tmp_path, MOCK_HOST="::1")
    server.url = f"http://[::1]:{server.port}"
    server.start()
    try:
        with urllib.request.urlopen(f"{server.url}/v3/HealthCheck", timeout=30) as response:
            assert response.status == 200 and json.loads(response.read()) == {}
        with pytest.raises(OSError):  # one family only: IPv4 is not served
            socket.create_connection(("127.0.0.1", server.port), timeout=2).close()
    finally:
        server.stop()


def test_mock_host_localhost_says_which_address_it_listens_on(tmp_path):
    server = ServerProcess(tmp_path, MOCK_HOST="localhost", MOCK_LOG_LEVEL="INFO")
    address = socket.getaddrinfo("localhost", server.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][4][0]
    url_host = f"[{address}]" if ":" in address else address
    server.url = f"http://{url_host}:{server.port}"
    server.start()
    try:
        line = _start_line(server)
        assert line.startswith(
            f"Booking Server v3 sandbox on http://localhost:{server.port}, listening on {address} only: "
            f"use http://{url_host}:{server.port} if localhost is refused (server=granian"
        )
        with urllib.request.urlopen(f"{server.url}/v3/HealthCheck", timeout=30) as response:
            assert response.status == 200
    finally:
        server.stop()


def _start_line(server: ServerProcess) -> str:
    """The server's start line (its log lines are written in batches: it may come just after it answers)."""
    lines = wait_for(
        lambda: [line for line in server.log.read_text().splitlines() if "Booking Server v3 sandbox on" in line],
        f"the start line in {server.log}",
        every_s=0.05,
    )
    return lines[0]
