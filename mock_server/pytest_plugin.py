"""pytest plugin: a real sandbox server for your test session, reset before each test.

Installed with the package (entry point `pytest11`), so `pip install rwg-booking-sandbox` is enough:

    def test_booking(rwg_sandbox):
        client = MyBookingClient(base_url=rwg_sandbox.url)
        ...
        assert rwg_sandbox.bookings()[0]["status"] == "CONFIRMED"

Options: `--rwg-fixture`, `--rwg-clock`, `--rwg-basic-auth` (or the MOCK_* variables).

With `--rwg-url http://sandbox:8080` (and `--rwg-admin-token` when the server has one) the session uses that running,
shared sandbox instead: it picks a tenant of its own (one per session and per xdist worker), so its resets and
faults never touch another suite's, and forgets it at the end.
"""

from __future__ import annotations

import json
import secrets
import threading
import urllib.error
import urllib.request

import pytest


class SandboxError(Exception):
    """The sandbox refused a control-plane call: its status and its JSON error's message, as the server said them."""

    def __init__(self, method: str, path: str, status: int, body: bytes):
        try:
            answer = json.loads(body)
            message = answer.get("message", body.decode()) if isinstance(answer, dict) else body.decode()
        except ValueError:  # not JSON (a proxy's page): the text as it came
            answer, message = None, body.decode(errors="replace")
        super().__init__(f"{method} {path}: HTTP {status}: {message}")
        self.status = status
        self.answer = answer  # the parsed JSON error ({code, status, message, errors?}), or None


class SandboxHandle:
    """What a test gets: the base URL and the control plane as methods."""

    def __init__(self, url: str, admin_token: str = ""):
        self.url = url
        self._headers = {"Content-Type": "application/json"}
        if admin_token:
            self._headers["Authorization"] = f"Bearer {admin_token}"

    def reset(self) -> None:
        """Back to the fixture state: bookings, tokens, fault rules and recorded exchanges cleared."""
        self._call("POST", "/_admin/reset")
        self._call("DELETE", "/_admin/recordings")

    def add_fault(self, kind: str, method: str = "*", **rule) -> dict:
        """Add a fault rule (see the README's fault modes); returns it with its id. A bad rule: SandboxError."""
        return self._call("POST", "/_admin/faults", {"kind": kind, "method": method, **rule})

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._call("DELETE", "/_admin/faults")

    def bookings(self, **filters) -> list[dict]:
        """Every booking the sandbox holds (filters: user_id, merchant_id, status)."""
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        return self._call("GET", "/_admin/bookings" + (f"?{query}" if query else ""))["bookings"]

    def exchanges(self, **filters) -> list[dict]:
        """Recorded /v3 exchanges, newest first (filters: method, status, booking_id); markers left out."""
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        body = self._call("GET", "/_admin/recordings" + (f"?{query}" if query else ""))
        lines = body["exchanges"] if isinstance(body, dict) else body
        return [line for line in lines if "marker" not in line]

    def set_clock(self, **change) -> dict:
        """Freeze, advance or unfreeze the sandbox clock, e.g. set_clock(advance_sec=3600)."""
        return self._call("POST", "/_admin/clock", change)

    def feed(self, name: str) -> dict:
        """One of the feeds: merchants, services, availability."""
        return self._call("GET", f"/feeds/{name}.json")

    def export_har(self) -> dict:
        """The recorded exchanges as a HAR 1.2 document (for browser devtools and HAR viewers)."""
        return self._call("GET", "/_admin/recordings/export?format=har")

    def _call(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=self._headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:  # "HTTP Error 400: BAD REQUEST" alone would hide the server's why
            raise SandboxError(method, path, error.code, error.read()) from None
        return json.loads(raw) if raw else None


class _InProcessServer:
    """The sandbox app under a threaded WSGI server in this process."""

    def __init__(self, overrides: dict):
        from werkzeug.serving import make_server

        from . import create_app

        self.app = create_app(overrides)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="rwg-sandbox", daemon=True)

    def __enter__(self) -> _InProcessServer:
        from . import notify

        self.thread.start()
        notify.watch_clock(self.app)  # served, as `make run` is: a running clock's waitlist moves are told
        return self

    def __exit__(self, *exc) -> None:
        from . import notify

        self.server.shutdown()
        self.thread.join(timeout=10)
        sender = self.app.extensions.get(notify.EXTENSION_KEY)
        if sender is not None:
            sender.drain()
            sender.stop()


class _SharedServer:
    """A running sandbox shared with other suites: this session's own tenant of it."""

    def __init__(self, base_url: str, admin_token: str, worker: str):
        self.base_url = base_url.rstrip("/")
        self.tenant = f"pytest-{secrets.token_hex(4)}-{worker}"
        self.url = f"{self.base_url}/t/{self.tenant}"
        self.admin_token = admin_token

    def __enter__(self) -> _SharedServer:
        return self

    def __exit__(self, *exc) -> None:
        try:  # the tenant's state goes with the session; a server without the endpoint keeps it until idle
            SandboxHandle(self.base_url, self.admin_token)._call("DELETE", f"/_admin/tenants/{self.tenant}")
        except (SandboxError, urllib.error.URLError, OSError):
            pass


def pytest_addoption(parser):
    """Command-line options of the plugin."""
    group = parser.getgroup("rwg-sandbox", "Booking Server v3 sandbox")
    group.addoption("--rwg-fixture", default=None, help="fixture file for the rwg_sandbox fixture")
    group.addoption("--rwg-clock", default=None, type=int, help="freeze the sandbox clock at this epoch second")
    group.addoption("--rwg-basic-auth", default=None, help="user:pass the sandbox requires on /v3")
    group.addoption("--rwg-url", default=None, help="a running sandbox to share: this session takes a tenant of it")
    group.addoption("--rwg-admin-token", default="", help="the shared sandbox's MOCK_ADMIN_TOKEN, if it has one")


@pytest.fixture(scope="session")
def rwg_sandbox_server(request, tmp_path_factory):
    """One sandbox server for the whole session: in process, or a tenant of a shared one (--rwg-url)."""
    options = request.config.option
    if options.rwg_url:
        worker = getattr(request.config, "workerinput", {}).get("workerid", "main")  # pytest-xdist's worker id
        with _SharedServer(options.rwg_url, options.rwg_admin_token, worker) as shared:
            yield shared
        return
    overrides = {"recordings_dir": str(tmp_path_factory.mktemp("rwg-recordings")), "recording": "session"}
    if options.rwg_fixture:
        overrides["fixture"] = options.rwg_fixture
    if options.rwg_clock is not None:
        overrides["clock"] = options.rwg_clock
    if options.rwg_basic_auth:
        overrides["basic_auth"] = options.rwg_basic_auth
    with _InProcessServer(overrides) as server:
        yield server


@pytest.fixture
def rwg_sandbox(rwg_sandbox_server) -> SandboxHandle:
    """The sandbox, reset to the fixture state before each test (isolation by default)."""
    server = rwg_sandbox_server
    token = (
        server.admin_token
        if isinstance(server, _SharedServer)
        else server.app.extensions["mock_server"].settings.admin_token
    )
    handle = SandboxHandle(server.url, token)
    handle.reset()
    return handle
