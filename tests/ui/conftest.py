"""Dashboard fixtures: the real server process, Debian's headless Chromium through Playwright, screenshots."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.e2e.server import ServerProcess

CHROMIUM = os.environ.get("RWG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def why_no_browser() -> str | None:
    """The reason browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python Playwright is not installed (pip install -e '.[test]'; no `playwright install` needed)"
    found = CHROMIUM if os.path.isabs(CHROMIUM) else shutil.which(CHROMIUM)
    if not found or not os.access(found, os.X_OK):
        return f"no Chromium at {CHROMIUM} (as root: apt-get install -y chromium; or set RWG_CHROMIUM)"
    return None


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
    reason = why_no_browser()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # launch() always gives Chromium a fresh temporary profile (--user-data-dir), removed on close.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def context(browser):
    """A fresh browser context (cookies, storage) per test."""
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    ctx.set_default_timeout(10_000)
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
