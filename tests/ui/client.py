"""Test-client helpers for the dashboard: an app with it installed, CSRF-aware form posts, page text."""

from __future__ import annotations

import html
import re

from mock_server import create_app
from mock_server.api.ui import install
from mock_server.runtime import EXTENSION_KEY

FROZEN_AT = 1767225600  # 2026-01-01T00:00:00Z, as tests/conftest.py
PREFIX = "/_admin/ui"


def make_app(tmp_path, **overrides):
    """A fresh sandbox with the dashboard (installed here until create_app does it)."""
    settings = {"clock": FROZEN_AT, "recordings_dir": str(tmp_path / "rec"), "recording": "ui", **overrides}
    app = create_app(settings, environ={})
    install(app)
    return app


def runtime_of(app):
    return app.extensions[EXTENSION_KEY]


def csrf(client) -> str:
    """The browser's CSRF token (fetching a page first sets the cookie)."""
    cookie = client.get_cookie("rwg_ui_csrf", path=PREFIX)
    if cookie is None:
        client.get(PREFIX + "/", headers={"Accept": "text/html"})
        cookie = client.get_cookie("rwg_ui_csrf", path=PREFIX)
    return cookie.value


def post(client, path: str, data: dict | None = None, follow: bool = True, **kwargs):
    """A form POST as the browser sends it: CSRF token in the form, same Origin."""
    form = {"csrf_token": csrf(client), **(data or {})}
    headers = {"Origin": "http://localhost", "Accept": "text/html", **kwargs.pop("headers", {})}
    return client.post(PREFIX + path, data=form, headers=headers, follow_redirects=follow, **kwargs)


def get(client, path: str, **kwargs):
    headers = {"Accept": "text/html", **kwargs.pop("headers", {})}
    return client.get(PREFIX + path, headers=headers, **kwargs)


def text(response) -> str:
    """The page's visible text, tags dropped and whitespace collapsed (for asserting messages)."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def flash(response) -> str:
    """The flash message shown on the page ('' when none)."""
    match = re.search(r'<div class="flash[^"]*"[^>]*id="flash">(.*?)</div>', response.get_data(as_text=True), re.S)
    return html.unescape(match.group(1)).strip() if match else ""
