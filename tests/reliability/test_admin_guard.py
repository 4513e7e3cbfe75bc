"""The control plane answers this machine's own scripts and pages, never another web page (issue 13, items 10, 15).

A page on another site can make the browser send "simple" requests to the sandbox: a `no-cors` fetch or a form post
with a text/plain, form or missing Content-Type, always with that page's `Origin`. A page whose name was re-pointed
at 127.0.0.1 (DNS rebinding) is same-origin, but its Host header names the attacker's domain.
"""

from __future__ import annotations

import base64
import io
import socket

import pytest

from mock_server.runtime import EXTENSION_KEY
from tests.conftest import FROZEN_AT
from tests.helpers import create_body, find_slot

from .conftest import fresh_app

TOKEN = "adm1n-t0ken"
EVIL = "https://evil.example"
# What a cross-origin `fetch(url, {method: "POST", mode: "no-cors", body})` sends: a string body is text/plain,
# a Blob body carries no Content-Type at all.
NO_CORS_BODIES = [
    ("text/plain;charset=UTF-8", b'{"method": "*", "kind": "http_error", "status": 503}'),
    (None, b'{"method": "*", "kind": "http_error", "status": 503}'),
    ("application/x-www-form-urlencoded", b'{"method": "*", "kind": "http_error", "status": 503}'),
    ("multipart/form-data; boundary=x", b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n'),
]
CONTROL_POSTS = {
    "/_admin/faults": b'{"method": "*", "kind": "http_error", "status": 503}',
    "/_admin/clock": b'{"advance_sec": 86400}',
    "/_admin/reset": b"{}",
    "/_admin/scenarios/flaky_payments": b"",
}


@pytest.fixture
def app(tmp_path):
    """An open sandbox (no admin token, the default) holding one booking, so a reset would show."""
    app = fresh_app(tmp_path)
    client = app.test_client()
    slot = find_slot(app.extensions[EXTENSION_KEY])
    assert client.post("/v3/CreateBooking", json=create_body(slot)).status_code == 200
    return app


def state(client) -> dict:
    """Everything a control-plane call could change."""
    return {
        "faults": client.get("/_admin/faults").get_json(),
        "clock": client.get("/_admin/clock").get_json(),
        "bookings": client.get("/_admin/bookings").get_json(),
    }


def assert_error(response, status: int, *words: str) -> None:
    """A JSON {code, status, message} error with this status whose message says these words."""
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    body = response.get_json()
    assert set(body) >= {"code", "status", "message"} and body["code"] == status, body
    for word in words:
        assert word in body["message"], (word, body["message"])


def raw_post(client, path: str, content_type: str | None, data: bytes, **headers):
    """A POST exactly as given: with no Content-Type header at all when content_type is None."""
    environ = {"CONTENT_TYPE": content_type} if content_type else {}
    return client.open(path, method="POST", data=data, headers=headers, environ_overrides=environ)


class TestContentType:
    """A body on a control-plane write must say it is JSON: browsers cannot send that type cross-origin."""

    @pytest.mark.parametrize("path", sorted(CONTROL_POSTS))
    @pytest.mark.parametrize("content_type, data", NO_CORS_BODIES)
    def test_no_cors_style_posts_are_refused_and_change_nothing(self, app, path, content_type, data):
        client = app.test_client()
        before = state(client)
        response = raw_post(client, path, content_type, data)
        assert_error(response, 415, "Content-Type", "application/json")
        assert state(client) == before

    def test_the_same_calls_with_json_work(self, app):
        client = app.test_client()
        assert client.post("/_admin/clock", json={"advance_sec": 60}).status_code == 200
        added = client.post("/_admin/faults", json={"method": "GetBookingStatus", "kind": "http_error", "status": 503})
        assert added.status_code == 201 and added.get_json()["kind"] == "http_error"
        # application/json with parameters, and +json types, are JSON too.
        charset = raw_post(client, "/_admin/clock", "application/json; charset=utf-8", b'{"freeze": true}')
        assert charset.status_code == 200 and charset.get_json()["frozen"] is True

    def test_a_post_without_a_body_or_a_content_type_works_like_curl_x_post(self, app):
        client = app.test_client()
        assert client.get("/_admin/bookings").get_json()["count"] == 1
        response = raw_post(client, "/_admin/reset", None, b"")
        assert response.status_code == 200 and response.get_json()["status"] == "ready"
        assert client.get("/_admin/bookings").get_json()["count"] == 0
        assert raw_post(client, "/_admin/reset", "application/json", b"").status_code == 200
        assert client.delete("/_admin/faults").get_json() == {"removed": 0}

    @pytest.mark.parametrize("content_type", ["text/plain; charset=utf-8", "application/x-www-form-urlencoded"])
    def test_an_empty_body_needs_no_json_type_but_a_browser_sending_it_is_refused(self, app, content_type):
        """`curl -X POST -d ''` and .NET's empty StringContent label an empty body: nothing in it to smuggle.

        A page's `fetch(url, {method: "POST", mode: "no-cors", body: ""})` sends the same bytes, but with its Origin.
        """
        client = app.test_client()
        before = state(client)
        assert_error(raw_post(client, "/_admin/reset", content_type, b"", Origin=EVIL), 403, "cross-origin")
        assert state(client) == before
        assert raw_post(client, "/_admin/reset", content_type, b"").get_json()["status"] == "ready"
        assert client.get("/_admin/bookings").get_json()["count"] == 0

    def test_a_delete_with_a_foreign_body_is_refused(self, app):
        client = app.test_client()
        client.post("/_admin/faults", json={"method": "*", "kind": "http_error", "status": 503})
        before = state(client)
        response = client.open("/_admin/faults", method="DELETE", data=b"x", content_type="text/plain")
        assert_error(response, 415, "Content-Type")
        assert state(client) == before

    def test_a_chunked_body_without_a_type_is_refused(self, app):
        client = app.test_client()
        before = state(client)
        response = client.open(
            "/_admin/clock",
            method="POST",
            input_stream=io.BytesIO(b'{"advance_sec": 60}'),
            headers={"Transfer-Encoding": "chunked"},
        )
        assert_error(response, 415, "Content-Type")
        assert state(client) == before


class TestOrigin:
    """A browser names the page a request came from: only the sandbox's own pages may drive it."""

    @pytest.mark.parametrize(
        "origin",
        [
            EVIL,
            "null",
            "http://localhost:3000",
            "http://127.0.0.1",
            "https://localhost.evil.example",
            "http://[::1",
            "file://localhost",
        ],
    )
    @pytest.mark.parametrize("path", sorted(CONTROL_POSTS))
    def test_a_foreign_origin_is_refused_and_changes_nothing(self, app, origin, path):
        client = app.test_client()
        before = state(client)
        response = client.post(
            path, data=CONTROL_POSTS[path], content_type="application/json", headers={"Origin": origin}
        )
        assert_error(response, 403, "cross-origin", origin)
        assert state(client) == before

    def test_a_no_cors_reset_with_no_body_is_refused(self, app):
        client = app.test_client()
        before = state(client)
        assert_error(raw_post(client, "/_admin/reset", None, b"", Origin=EVIL), 403, "cross-origin")
        assert state(client) == before

    def test_reads_from_a_foreign_origin_are_refused_too(self, app):
        client = app.test_client()
        assert_error(client.get("/_admin/bookings", headers={"Origin": EVIL}), 403, "cross-origin")
        assert_error(client.get("/_admin/ui/", headers={"Origin": EVIL}), 403, "cross-origin")

    def test_the_sandbox_own_pages_may(self, app):
        client = app.test_client()
        response = client.post("/_admin/clock", json={"advance_sec": 60}, headers={"Origin": "http://localhost"})
        assert response.status_code == 200 and response.get_json()["frozen"] is True
        other_port = client.get("/_admin/health", headers={"Origin": "http://localhost:8080", "Host": "localhost:8080"})
        assert other_port.status_code == 200 and other_port.get_json()["status"] == "ready"


class TestHost:
    """Only names of this machine reach the control plane: a rebound attacker's domain does not."""

    @pytest.mark.parametrize(
        "host",
        [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "booking-sandbox:8080",
            "0.0.0.0:8080",
            "[::]:8080",
        ],
    )
    def test_a_foreign_host_is_refused(self, app, host):
        client = app.test_client()
        before = state(client)
        for path in sorted(CONTROL_POSTS):
            response = client.post(
                path, data=CONTROL_POSTS[path], content_type="application/json", headers={"Host": host}
            )
            assert_error(response, 403, "MOCK_ALLOWED_HOSTS", host.rsplit(":", 1)[0] if "]" not in host else "::")
        assert_error(client.get("/_admin/health", headers={"Host": host}), 403, "MOCK_ALLOWED_HOSTS")
        assert_error(
            client.get("/_admin/ui/", headers={"Host": host, "Accept": "text/html"}), 403, "MOCK_ALLOWED_HOSTS"
        )
        assert state(client) == before

    @pytest.mark.parametrize(
        "host",
        [
            "localhost",
            "localhost:8080",
            "LOCALHOST:8080",
            "localhost.",
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.1.2.3:9000",
            "[::1]:8080",
            "[::1]",
            "sandbox.localhost:8080",
            "[::ffff:127.0.0.1]:8080",
        ],
    )
    def test_loopback_names_are_allowed(self, app, host):
        response = app.test_client().get("/_admin/health", headers={"Host": host})
        assert response.status_code == 200 and response.get_json()["status"] == "ready"

    @pytest.mark.parametrize("host", ["", "[", "[::1", ":8080", "local host", "localhost:x:y", "\u0131ocalhost"])
    def test_odd_host_headers_are_a_403_not_a_500(self, app, host):
        response = app.test_client().get("/_admin/health", environ_overrides={"HTTP_HOST": host})
        assert_error(response, 403, "MOCK_ALLOWED_HOSTS")

    def test_the_v3_api_and_the_feeds_answer_any_name(self, app):
        client = app.test_client()
        health = client.get("/v3/HealthCheck", headers={"Host": "evil.example"})
        assert health.status_code == 200
        feed = client.get("/feeds/merchants.json", headers={"Host": "evil.example"})
        assert feed.status_code == 200 and feed.get_json()["merchant"]

    def test_a_ci_service_container_reached_by_its_hostname(self, tmp_path):
        """The README's CI recipe: MOCK_HOST=0.0.0.0, reached as http://booking-sandbox:8080."""
        host = {"Host": "booking-sandbox:8080"}
        closed = fresh_app(tmp_path / "a", host="0.0.0.0").test_client()
        assert_error(closed.post("/_admin/reset", headers=host), 403, "MOCK_ALLOWED_HOSTS", "booking-sandbox")
        opened = fresh_app(tmp_path / "b", host="0.0.0.0", allowed_hosts="other, Booking-Sandbox").test_client()
        assert opened.post("/_admin/reset", headers=host).get_json()["status"] == "ready"
        assert opened.get("/_admin/health", headers={"Host": "localhost:8080"}).status_code == 200
        assert_error(opened.get("/_admin/health", headers={"Host": "evil.example"}), 403)

    def test_the_allowed_hosts_come_from_the_environment(self, tmp_path):
        from mock_server import create_app

        app = create_app(
            {"clock": FROZEN_AT, "recordings_dir": str(tmp_path)}, environ={"MOCK_ALLOWED_HOSTS": "sandbox.test"}
        )
        assert app.test_client().get("/_admin/health", headers={"Host": "sandbox.test:80"}).status_code == 200

    def test_a_star_allows_any_name(self, tmp_path):
        client = fresh_app(tmp_path, allowed_hosts="*").test_client()
        assert client.get("/_admin/health", headers={"Host": "anything.example"}).status_code == 200
        # Any Host, but still not another site's page.
        assert_error(client.get("/_admin/health", headers={"Host": "anything.example", "Origin": EVIL}), 403)

    def test_the_configured_bind_address_is_allowed(self, tmp_path):
        client = fresh_app(tmp_path, host="192.0.2.7").test_client()
        assert client.get("/_admin/health", headers={"Host": "192.0.2.7:8080"}).status_code == 200
        assert_error(client.get("/_admin/health", headers={"Host": "192.0.2.8:8080"}), 403)


class TestTheTokenBypassesHostAndOrigin:
    """A request presenting the admin token is not a hostile page: a page cannot know the token."""

    def test_token_opens_any_host_and_origin(self, tmp_path):
        client = fresh_app(tmp_path, admin_token=TOKEN).test_client()
        foreign = {"Host": "sandbox.internal:8080", "Origin": EVIL}
        for scheme in ("Bearer", "bearer", "BEARER"):
            response = client.get("/_admin/health", headers={**foreign, "Authorization": f"{scheme} {TOKEN}"})
            assert response.status_code == 200 and response.get_json()["status"] == "ready", scheme
        assert_error(client.get("/_admin/health", headers={**foreign, "Authorization": "Bearer nope"}), 403)
        assert_error(client.get("/_admin/health", headers=foreign), 403, "MOCK_ALLOWED_HOSTS")

    def test_the_token_does_not_excuse_a_body_that_is_not_json(self, tmp_path):
        client = fresh_app(tmp_path, admin_token=TOKEN).test_client()
        response = raw_post(
            client, "/_admin/clock", "text/plain", b'{"advance_sec": 60}', Authorization=f"Bearer {TOKEN}"
        )
        assert_error(response, 415, "Content-Type")


class TestSchemeCase:
    """RFC 7235: the auth scheme is case-insensitive; the credentials after it are not."""

    @pytest.mark.parametrize("scheme", ["Basic", "basic", "BASIC", "bAsIc"])
    def test_basic_any_case(self, tmp_path, scheme):
        credentials = base64.b64encode(b"google:s3cret").decode()
        client = fresh_app(tmp_path, basic_auth="google:s3cret").test_client()
        response = client.get("/v3/HealthCheck", headers={"Authorization": f"{scheme} {credentials}"})
        assert response.status_code == 200, response.get_data()
        wrong = client.get("/v3/HealthCheck", headers={"Authorization": f"{scheme} {credentials.lower()}"})
        assert_error(wrong, 401, "Basic")
        slot = find_slot(client.application.extensions[EXTENSION_KEY])
        booked = client.post(
            "/v3/CreateBooking", json=create_body(slot), headers={"Authorization": f"{scheme} {credentials}"}
        )
        assert booked.status_code == 200 and booked.get_json()["booking"]["status"] == "CONFIRMED"

    @pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
    def test_bearer_any_case(self, tmp_path, scheme):
        client = fresh_app(tmp_path, admin_token=TOKEN).test_client()
        response = client.get("/_admin/health", headers={"Authorization": f"{scheme} {TOKEN}"})
        assert response.status_code == 200 and response.get_json()["status"] == "ready"
        assert_error(
            client.get("/_admin/health", headers={"Authorization": f"{scheme} {TOKEN.upper()}"}),
            401,
            "admin token required",
        )
        page = client.get("/_admin/ui/bookings", headers={"Authorization": f"{scheme} {TOKEN}", "Accept": "text/html"})
        assert page.status_code == 200 and "<h1>" in page.get_data(as_text=True)


@pytest.mark.e2e
class TestRealServer:
    """Over real sockets: the Host header as granian hands it over."""

    def test_host_check_over_http(self, start_server):
        server = start_server(MOCK_ALLOWED_HOSTS="booking-sandbox")
        assert _status(server.port, "GET /_admin/health", "evil.example") == b"403"
        assert _status(server.port, "GET /_admin/health", "booking-sandbox:8080") == b"200"
        assert _status(server.port, "GET /_admin/health", f"localhost:{server.port}") == b"200"
        assert _status(server.port, "POST /_admin/reset", f"127.0.0.1:{server.port}") == b"200"  # curl -X POST
        assert _status(server.port, "GET /v3/HealthCheck", "evil.example") == b"200"


def _status(port: int, request_line: str, host: str) -> bytes:
    """The status code of one request sent as raw bytes (no Content-Type, no body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"{request_line} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer.split(b" ", 2)[1]
