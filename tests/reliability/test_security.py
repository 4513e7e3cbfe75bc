"""Locked down: admin token on every admin route, constant-time credential checks, no secrets or PII
in recordings, no path traversal, request limits, loopback by default."""

from __future__ import annotations

import base64
import hmac
import json
import logging
import re
import socket
from pathlib import Path

import pytest

from mock_server import create_app
from mock_server.api import auth
from mock_server.config import Settings
from tests.helpers import create_body, find_slot, journal_file

from .conftest import fresh_app
from .support import journal_lines

TOKEN = "adm1n-t0ken"
BASIC = "google:s3cret-pass"
SAMPLE_VALUES = {"booking_id": "B0000001", "seq": "1", "rule_id": "f1", "name": "flaky_payments"}


UI = "/_admin/ui"
# Dashboard endpoints anyone may reach: the sign-in page and its CSS/JS. Any other public one fails the test.
UI_PUBLIC = {"dashboard.login", "dashboard.static"}


def _admin_routes(app, include_public: bool = False) -> list[tuple[str, str, str]]:
    """(method, concrete path, endpoint) for every rule under /_admin, read from the app's url_map."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/_admin") or (rule.endpoint in UI_PUBLIC and not include_public):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLE_VALUES.get(m.group(1), "x"), rule.rule)
        routes += [(method, path, rule.endpoint) for method in sorted(rule.methods - {"OPTIONS"})]
    return routes


@pytest.fixture
def locked(tmp_path):
    """A sandbox with an admin token and Basic auth on /v3."""
    return fresh_app(tmp_path, admin_token=TOKEN, basic_auth=BASIC)


class TestAdminToken:
    """With MOCK_ADMIN_TOKEN set, no admin route answers without it; new routes are covered as they come."""

    def test_every_admin_route_is_enumerated(self, locked):
        paths = {path for _, path, _ in _admin_routes(locked)}
        assert {"/_admin/health", "/_admin/reset", "/_admin/bookings", "/_admin/clock"} <= paths
        public = {endpoint for _, path, endpoint in _admin_routes(locked, include_public=True)} - {
            endpoint for _, _, endpoint in _admin_routes(locked)
        }
        assert public <= UI_PUBLIC

    @pytest.mark.parametrize(
        "authorization",
        [
            None,
            "Bearer wrong",
            f"Bearer {TOKEN}x",
            f"bearer {TOKEN.upper()}",
            f"Basic {TOKEN}",
            TOKEN,
            "Bearer ",
            f"Bearer  {TOKEN}",
        ],
    )
    def test_every_admin_route_refuses_without_the_token(self, locked, authorization, figures):
        client = locked.test_client()
        headers = {"Authorization": authorization} if authorization else {}
        before = client.get("/_admin/bookings", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()
        routes = _admin_routes(locked)
        for method, path, _ in routes:
            # A broken body too: the token is checked before anything is parsed.
            response = client.open(
                path, method=method, headers=headers, data=b"{not json", content_type="application/json"
            )
            if path.startswith(UI):
                # Dashboard: 401 for scripts, 403 for a POST without its CSRF token; never an answer.
                assert response.status_code in (401, 403), (method, path, response.status_code)
                continue
            assert response.status_code == 401, (method, path, response.status_code)
            if method != "HEAD":
                assert response.get_json()["message"].startswith("admin token required"), (method, path)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        after = client.get("/_admin/bookings", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()
        assert after == before
        figures["admin routes checked for the token"] = len(routes)

    def test_dashboard_pages_send_a_browser_to_the_sign_in_page(self, locked):
        client = locked.test_client()
        pages = [path for method, path, _ in _admin_routes(locked) if method == "GET" and path.startswith(UI)]
        assert pages
        for path in pages:
            response = client.get(path, headers={"Accept": "text/html"})
            assert response.status_code == 303 and "/_admin/ui/login" in response.headers["Location"], path

    def test_the_right_token_opens_every_admin_route(self, locked):
        client = locked.test_client()
        for method, path, _ in _admin_routes(locked):
            if (method, path) == ("POST", "/_admin/reset") or (path.startswith(UI) and method == "POST"):
                continue  # reset would wipe what the others look at; dashboard forms also need a CSRF token
            response = client.open(
                path, method=method, headers={"Authorization": f"Bearer {TOKEN}"}, json={} if method == "POST" else None
            )
            assert response.status_code != 401 and response.status_code < 500, (method, path)

    @pytest.mark.parametrize(
        "path",
        [
            "/%5Fadmin/health",
            "/_admin//health",
            "/_admin/./health",
            "/_admin/health/",
            "/_admin/health?x=1",
            "/_admin/health%20",
            "/_admin/ui/static/../bookings",
            "/_admin/ui/login/../bookings",
        ],
    )
    def test_path_spellings_do_not_bypass_the_token(self, locked, path):
        response = locked.test_client().get(path)
        assert response.status_code in (401, 404, 308), (path, response.status_code)
        if response.status_code == 308:  # a redirect to the canonical path, which then asks for the token
            assert locked.test_client().get(response.headers["Location"]).status_code in (401, 404)

    def test_uppercase_admin_path_is_not_a_way_in(self, locked):
        for path in ("/_ADMIN/health", "/_Admin/bookings", "/_admin/UI/bookings"):
            assert locked.test_client().get(path).status_code in (401, 404)

    def test_without_a_token_admin_is_open(self, tmp_path):
        assert fresh_app(tmp_path).test_client().get("/_admin/health").status_code == 200


class TestConstantTimeCompare:
    """Credentials are compared with hmac.compare_digest, on every request, right or wrong."""

    @pytest.fixture
    def spy(self, monkeypatch):
        calls = []
        original = hmac.compare_digest

        def compare(a, b):
            calls.append((a, b))
            return original(a, b)

        monkeypatch.setattr(auth.hmac, "compare_digest", compare)
        return calls

    @pytest.mark.parametrize(
        "sent",
        [
            "Basic " + base64.b64encode(BASIC.encode()).decode(),
            "Basic " + base64.b64encode(b"google:s3cret-pasX").decode(),
            "Basic eA==",
            "Basic " + "A" * 500,
            "Bearer x",
        ],
    )
    def test_basic_auth_goes_through_compare_digest(self, locked, spy, sent):
        response = locked.test_client().get("/v3/HealthCheck", headers={"Authorization": sent})
        assert len(spy) == 1
        assert spy[0] == (sent.encode(), ("Basic " + base64.b64encode(BASIC.encode()).decode()).encode())
        assert response.status_code == (200 if sent.endswith(base64.b64encode(BASIC.encode()).decode()) else 401)

    @pytest.mark.parametrize("sent", [f"Bearer {TOKEN}", "Bearer x", "Bearer " + "x" * 300, ""])
    def test_admin_token_goes_through_compare_digest(self, locked, spy, sent):
        response = locked.test_client().get("/_admin/health", headers={"Authorization": sent} if sent else {})
        assert spy == [(sent.encode(), f"Bearer {TOKEN}".encode())]
        assert response.status_code == (200 if sent == f"Bearer {TOKEN}" else 401)

    def test_no_plain_equality_on_credentials_in_the_auth_module(self):
        import inspect

        source = inspect.getsource(auth)
        assert "compare_digest" in source
        assert not re.search(r"(sent|token|expected\w*)\s*[!=]=\s*", source), "credentials compared with =="


class TestRecordingsHoldNoSecrets:
    """The journal never keeps credentials; with MOCK_REDACT_PII=1 not the personal fields either."""

    def _record(self, tmp_path, **overrides):
        app = fresh_app(tmp_path, basic_auth=BASIC, admin_token=TOKEN, **overrides)
        client = app.test_client()
        header = {"Authorization": "Basic " + base64.b64encode(BASIC.encode()).decode()}
        wrong = {"Authorization": "Basic " + base64.b64encode(b"google:guessed-pass").decode()}
        body = create_body(find_slot(app.extensions["mock_server"], vertical="classes"), 42, token="sec-1")
        body["user_information"].update(
            given_name="Zelda", family_name="Quartermaine", telephone="+1 555-867-5309", email="zelda.q@example.org"
        )
        assert client.post("/v3/CreateBooking", json=body, headers=header).status_code == 200
        client.post("/v3/ListBookings", json={"user_id": body["user_information"]["user_id"]}, headers=header)
        client.post("/v3/ListBookings", json={"user_id": "x"}, headers=wrong)
        client.post(
            "/v3/ListBookings",
            json={"user_id": "x"},
            headers={**header, "Cookie": "session=c00kie-value", "X-Api-Key": "k3y-value"},
        )
        journal = journal_file(app)
        assert journal == tmp_path / "recordings" / "rel.jsonl" and journal_lines(journal) == (4, [])
        return journal.read_text(), [json.loads(line) for line in journal.read_text().splitlines()]

    def test_no_credentials_in_the_journal(self, tmp_path):
        text, parsed = self._record(tmp_path)
        for secret in (
            "s3cret-pass",
            "guessed-pass",
            base64.b64encode(BASIC.encode()).decode(),
            base64.b64encode(b"google:guessed-pass").decode(),
            TOKEN,
            "c00kie-value",
            "k3y-value",
        ):
            assert secret not in text, secret
        assert all("Authorization" in p["request"]["headers"] for p in parsed)  # kept, but redacted

    def test_no_personal_data_when_redaction_is_on(self, tmp_path):
        text, parsed = self._record(tmp_path, redact_pii=1)
        for personal in ("Zelda", "Quartermaine", "867-5309", "zelda.q@example.org"):
            assert personal not in text, personal
        assert all(p.get("pii_redacted") for p in parsed)

    def test_personal_data_is_kept_when_redaction_is_off(self, tmp_path):
        text, _ = self._record(tmp_path)
        assert "Zelda" in text  # the redaction test above is not passing for want of data


class TestFileNames:
    """Names that reach the file system cannot climb out of their folders."""

    @pytest.mark.parametrize(
        "name",
        [
            "..%2F..%2Fetc%2Fpasswd",
            "..%2Fdefault",
            "..",
            ".",
            "%2Fetc%2Fpasswd",
            "..%5C..%5Cwin.ini",
            "flaky_payments%00",
            "a" * 65,
            "flaky_payments.json",
            "%2e%2e",
            "~root",
            "flaky_payments%2F..%2F..%2Fdefault",
        ],
    )
    def test_scenario_names_cannot_escape(self, tmp_path, name):
        app = fresh_app(tmp_path)
        response = app.test_client().post(f"/_admin/scenarios/{name}")
        assert response.status_code in (400, 404), (name, response.status_code)
        assert response.get_json()["code"] == response.status_code
        assert app.test_client().get("/_admin/faults").get_json()["faults"] == []

    @pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "..", "a/b"])
    def test_startup_scenario_names_cannot_escape(self, name):
        with pytest.raises(SystemExit, match="MOCK_SCENARIO"):
            create_app({"scenario": name, "record": 0}, environ={})

    def test_recording_name_cannot_escape_the_recordings_folder(self, tmp_path):
        folder = tmp_path / "recordings"
        try:
            app = create_app({"recordings_dir": str(folder), "recording": "../escaped"}, environ={})
        except SystemExit:
            return  # refused at start-up: fine
        app.test_client().post("/v3/ListBookings", json={"user_id": "x"})
        assert not (tmp_path / "escaped.jsonl").exists()

    def test_no_admin_route_takes_a_file_name_or_path(self):
        """Recordings and replays are named only by the operator's environment, never over HTTP."""
        for rule in create_app({"record": 0}, environ={}).url_map.iter_rules():
            if rule.rule.startswith("/_admin") and rule.endpoint != "dashboard.static":
                for converter in rule._converters.values():
                    assert type(converter).__name__ != "PathConverter", rule.rule

    @pytest.mark.parametrize(
        "path",
        [
            "../templates/ui_base.html",
            "..%2Ftemplates%2Fui_base.html",
            "..%2F..%2F..%2F..%2Fconfig.py",
            "%2Fetc%2Fpasswd",
            "....//....//etc/passwd",
            "..%5C..%5Cconfig.py",
        ],
    )
    def test_dashboard_static_files_stay_in_their_folder(self, tmp_path, path):
        client = fresh_app(tmp_path).test_client()
        assert client.get("/_admin/ui/static/dashboard.css").status_code == 200
        response = client.get(f"/_admin/ui/static/{path}", follow_redirects=True)  # "//" is merged by a 308
        assert response.status_code == 404, (path, response.status_code)


class TestLimits:
    """Request size and slot_time count are bounded (the bad-input table checks the answers)."""

    def test_defaults(self):
        settings = Settings()
        assert settings.max_body_bytes == 1_048_576 and settings.max_slot_times == 1000

    def test_limits_are_configurable(self, tmp_path):
        app = fresh_app(tmp_path, max_body_bytes=2000, max_slot_times=2, record=0)
        slot = find_slot(app.extensions["mock_server"], vertical="classes")
        client = app.test_client()
        big = client.post("/v3/ListBookings", json={"user_id": "x" * 3000})
        assert big.status_code == 413
        assert big.get_json()["message"] == "request body over the 2000-byte limit (MOCK_MAX_BODY_BYTES)"
        times = [{"service_id": slot.service_id, "start_sec": str(slot.start_sec)}] * 3
        many = client.post("/v3/BatchAvailabilityLookup", json={"merchant_id": slot.merchant_id, "slot_time": times})
        assert (many.status_code, many.get_json()["message"]) == (400, "too many slot_time entries: 3 > 2")


class TestBinding:
    """Loopback by default; a wider bind is said out loud."""

    def test_default_host_is_loopback(self):
        assert Settings().host == "127.0.0.1"
        assert Settings.load({}).host == "127.0.0.1"

    @pytest.mark.parametrize(
        "host,warned",
        [
            ("0.0.0.0", True),
            ("::", True),
            ("192.0.2.10", True),
            ("127.0.0.1", False),
            ("localhost", False),
            ("::1", False),
        ],
    )
    def test_a_wider_bind_logs_a_warning(self, monkeypatch, caplog, host, warned):
        from mock_server import serve

        ran = []
        monkeypatch.setattr(serve, "_granian", lambda build, settings: ran.append(settings.host))
        monkeypatch.setattr(serve.logging, "basicConfig", lambda **kwargs: None)  # keep pytest's capture
        monkeypatch.setattr(serve, "serving_process", lambda: None)  # logging switches and GC stay pytest's
        with caplog.at_level(logging.INFO, logger="mock_server"):
            serve.serve(create_app, Settings.load({}, host=host))
        assert ran == [host]  # nothing was bound: the runner is stubbed
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert bool(warnings) == warned
        if warned:
            assert "reachable from other machines" in warnings[0].getMessage()


@pytest.mark.e2e
class TestRealServer:
    """The real process: bound to loopback only, and a chunked body without Content-Length is still capped."""

    def test_listens_on_loopback_only(self, start_server):
        server = start_server()
        listening = _listening_addresses(server.port)
        assert listening == {"127.0.0.1"}, listening

    def test_chunked_body_over_the_limit_is_refused(self, start_server):
        server = start_server(MOCK_MAX_BODY_BYTES="4096")
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(
                b"POST /v3/ListBookings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            )
            chunk = b"x" * 1024
            try:
                for _ in range(64):
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass  # the server may answer and close before reading it all
            answer = _read_all(sock)
        status_line = answer.split(b"\r\n", 1)[0]
        assert status_line.split()[1] in (b"413", b"400"), answer[:300]
        assert b'"code":' in answer
        assert server.get("/_admin/health")["status"] == "ready"


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening socket on this port, from /proc/net/tcp and tcp6."""
    found = set()
    for table, size in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.add(_decode_address(address, size))
    return found


def _decode_address(hex_address: str, size: int) -> str:
    raw = bytes.fromhex(hex_address)
    if size == 8:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def _read_all(sock) -> bytes:
    chunks = []
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    except OSError:
        pass
    return b"".join(chunks)
