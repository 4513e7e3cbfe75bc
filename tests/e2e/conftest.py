"""End-to-end fixtures: real server processes (`start_server` lives in tests/conftest.py)."""

import pytest


@pytest.fixture
def server(start_server):
    """One sandbox with default settings."""
    return start_server()
