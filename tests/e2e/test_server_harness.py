"""The test harness's server process: a port taken between choosing it and binding it is not a failed test."""

from __future__ import annotations

import socket

import pytest

from .server import ServerProcess

pytestmark = pytest.mark.e2e


def test_a_port_taken_before_the_server_binds_it_is_traded_for_another(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    taken = holder.getsockname()[1]
    server = ServerProcess(tmp_path)
    server._move_to(taken)  # as if another program bound free_port()'s answer first
    try:
        server.start()
        assert server.port != taken and server.url == f"http://127.0.0.1:{server.port}"
        assert server.get("/_admin/health")["status"] == "ready"
        assert "is in use" in (tmp_path / f"server-{taken}.log").read_text()
    finally:
        server.stop()
        holder.close()
