"""The listening socket every server is given: exclusive (no SO_REUSEPORT), and a port in use is one line."""

from __future__ import annotations

import socket

import pytest

from mock_server import serve
from mock_server.config import Settings


def test_the_socket_is_exclusive_and_listening():
    sock = serve.listen(Settings.load({}, port=0))
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 0
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        with socket.socket() as rival:  # even a rival that asks to share the port is refused
            rival.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            with pytest.raises(OSError):
                rival.bind(sock.getsockname())
    finally:
        sock.close()


def test_a_port_in_use_is_one_line():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(SystemExit) as stopped:
            serve.listen(Settings.load({}, port=port))
    assert str(stopped.value) == (
        f"port {port} on 127.0.0.1 is in use: another sandbox or program listens there (stop it, or set MOCK_PORT)"
    )


def test_an_unknown_host_is_one_line():
    with pytest.raises(SystemExit, match="MOCK_HOST 'no-such-host.invalid'"):
        serve.listen(Settings.load({}, host="no-such-host.invalid", port=0))
