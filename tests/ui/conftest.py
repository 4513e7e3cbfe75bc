"""Dashboard fixtures: the real server process, Debian's headless Chromium through Playwright, screenshots."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pytest

from tests.e2e.server import ServerProcess

CHROMIUM = os.environ.get("RWG_CHROMIUM", "/usr/bin/chromium")
# Actions, navigations and expect() wait this long: a loaded 2-core CI machine renders slowly; a miss still fails.
BROWSER_TIMEOUT_MS = 30_000
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class MissingPiece:
    """Something the browser tests need that this machine lacks, and how each kind of run gets it."""

    what: str
    fix: str  # on a developer's machine
    ci_fix: str  # how .ci/run provides it


def missing_browser_piece(chromium: str = CHROMIUM) -> MissingPiece | None:
    """The first thing the browser tests need and cannot find here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return MissingPiece(
            "Python Playwright is not installed",
            "pip install -e '.[test]'; no `playwright install` needed",
            ".ci/run's `make lint` pip-installs .[test] into .venv",
        )
    found = chromium if os.path.isabs(chromium) else shutil.which(chromium)
    if not found or not os.access(found, os.X_OK):
        return MissingPiece(
            f"no Chromium at {chromium}",
            "as root: apt-get install -y chromium; or set RWG_CHROMIUM",
            ".ci/run apt-get installs chromium only when run as root with apt-get; or set RWG_CHROMIUM",
        )
    return None


def why_no_browser() -> str | None:
    """The reason browser tests cannot run here, or None."""
    missing = missing_browser_piece()
    return None if missing is None else f"{missing.what} ({missing.fix})"


def in_ci(environ: Mapping[str, str]) -> bool:
    """True when the environment says CI=true (any case), as .ci/run's callers and most CI services set it."""
    return environ.get("CI", "").lower() == "true"


def browser_verdict(missing: MissingPiece | None, ci: bool) -> tuple[Literal["run", "skip", "fail"], str]:
    """Run the browser tests, or skip them (a developer's machine), or fail them (CI must not go green without them)."""
    if missing is None:
        return "run", ""
    if ci:
        return "fail", f"CI=true but {missing.what}, so the browser tests cannot run ({missing.ci_fix})"
    return "skip", f"{missing.what} ({missing.fix})"


class DashboardServer(ServerProcess):
    """`python app.py` from the repo root (the dashboard is part of every app)."""


@pytest.fixture
def app(tmp_path):
    """A fresh app for the test-client tests of the dashboard."""
    from .client import make_app

    return make_app(tmp_path)


@pytest.fixture
def client(app):
    """Flask test client of that app."""
    return app.test_client()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """One headless Chromium for the session (each test gets its own context: no shared cookies)."""
    verdict, reason = browser_verdict(missing_browser_piece(), in_ci(os.environ))
    if verdict == "fail":
        pytest.fail(reason, pytrace=False)
    if verdict == "skip":
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # launch() always gives Chromium a fresh temporary profile (--user-data-dir), removed on close.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        # expect() has its own 5 s default, which set_default_timeout does not change.
        from playwright.sync_api import expect

        expect.set_options(timeout=BROWSER_TIMEOUT_MS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def context(browser):
    """A fresh browser context (cookies, storage) per test."""
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    ctx.set_default_timeout(BROWSER_TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    """A page in the test's context."""
    return context.new_page()


@pytest.fixture(scope="module")
def start_dashboard_server(tmp_path_factory):
    """Factory: a started DashboardServer with extra MOCK_* env, stopped after the module."""
    started = []

    def start(**env):
        server = DashboardServer(tmp_path_factory.mktemp("dashboard"), **env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
