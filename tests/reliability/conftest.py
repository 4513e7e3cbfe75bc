"""Reliability suite: figures collected by the tests and printed at the end of the run."""

from __future__ import annotations

import pytest

from mock_server import create_app
from tests.conftest import FROZEN_AT

FIGURES = pytest.StashKey[dict]()


@pytest.fixture
def figures(request) -> dict:
    """A run-wide dict the tests add their counts to (printed as "reliability figures")."""
    return request.config.stash.setdefault(FIGURES, {})


def pytest_terminal_summary(terminalreporter, config):
    found = config.stash.get(FIGURES, None)
    if found:
        terminalreporter.section("reliability figures")
        for name in sorted(found):
            terminalreporter.write_line(f"{name}: {found[name]}")


def fresh_app(tmp_path, **overrides):
    """A sandbox with a frozen clock and recording on, journals under tmp_path."""
    settings = {"clock": FROZEN_AT, "recordings_dir": str(tmp_path / "recordings"), "recording": "rel", **overrides}
    return create_app(settings, environ={})
