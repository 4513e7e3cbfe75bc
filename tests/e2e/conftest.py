"""End-to-end fixtures: real server processes."""

import pytest

from .server import ServerProcess


@pytest.fixture
def start_server(tmp_path):
    """Factory: start_server(**MOCK_env) -> a started ServerProcess, stopped after the test."""
    started = []

    def start(**env):
        server = ServerProcess(tmp_path, **env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(start_server):
    """One sandbox with default settings."""
    return start_server()
