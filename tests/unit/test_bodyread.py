"""Request bodies read before the app runs: limits, draining, the deadline, and granian's runner."""

from __future__ import annotations

import io
import json
import threading
import time

import pytest

from mock_server import bodyread, granian_wsgi
from mock_server.bodyread import Body, BodyLimits, Watchdog
from mock_server.config import Settings
from tests.helpers import wait_for

LIMITS = BodyLimits(timeout_s=0.3, max_bytes=100, drain_cap=1000)


def test_the_drain_cap_is_four_times_the_limit_and_at_least_16_mib():
    assert BodyLimits.of(Settings.load({})).drain_cap == 16 * 1024 * 1024
    assert BodyLimits.of(Settings.load({}, max_body_bytes=10 * 1024 * 1024)).drain_cap == 40 * 1024 * 1024
    assert BodyLimits.of(Settings.load({}, read_timeout_s=2.5)).timeout_s == 2.5


def test_a_body_within_the_limit_is_one_read():
    stream = io.BytesIO(b"x" * 50)
    assert bodyread.read(stream, 50, LIMITS) == Body(b"x" * 50, 50, True)


def test_a_body_over_the_limit_keeps_limit_plus_one_and_counts_the_rest():
    assert bodyread.read(io.BytesIO(b"x" * 700), 700, LIMITS) == Body(b"x" * 101, 700, True)
    chunked = bodyread.read(io.BytesIO(b"y" * 700), None, LIMITS)  # no length: read to the end
    assert chunked == Body(b"y" * 101, 700, True)
    assert chunked.over_limit(LIMITS) and not chunked.over_cap(LIMITS)


def test_draining_stops_past_the_cap():
    body = bodyread.read(io.BytesIO(b"z" * 100_000), None, LIMITS)
    assert body.over_cap(LIMITS) and body.total < 100_000


def test_a_short_body_is_incomplete():
    assert bodyread.read(io.BytesIO(b"{"), 100, BodyLimits(0.3, 1000, 2000)) == Body(b"{", 1, False)


def test_handing_over_gives_a_chunked_body_its_length():
    environ = {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": None}
    bodyread.hand_over(environ, Body(b"x" * 101, 700, True))
    assert environ["CONTENT_LENGTH"] == "700" and "HTTP_TRANSFER_ENCODING" not in environ
    assert environ["wsgi.input"].read() == b"x" * 101


def test_the_watchdog_runs_an_action_once_its_deadline_passed_and_not_when_finished():
    watchdog = Watchdog("test-deadlines")
    fired = []
    late = watchdog.start(0.05, lambda: fired.append("late"))
    early = watchdog.start(600, lambda: fired.append("early"))
    # Two ticks when idle; the watchdog's thread runs late on a loaded machine.
    wait_for(lambda: fired, "the late deadline's action", every_s=Watchdog.TICK_S)
    assert watchdog.finish(early) is False
    assert watchdog.finish(late) is True
    assert fired == ["late"]


class FakeProtocol:
    """granian's WSGI protocol object: records the answers it is given."""

    def __init__(self):
        self.answers = []
        self.answered = threading.Event()

    def response_bytes(self, status, headers, body):
        self.answers.append((status, dict(headers), body))
        self.answered.set()


class StalledInput:
    """granian's wsgi.input for a body that stops coming: read() blocks until the client goes away."""

    def __init__(self):
        self.gone = threading.Event()

    def read(self, size=-1):
        self.gone.wait(10)
        return b"{"


def _scope(body_stream, **headers):
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/v3/CreateBooking",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": body_stream,
        **headers,
    }


def _echo_app(seen):
    def app(environ, start_response):
        seen.append(environ)
        data = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"length": environ.get("CONTENT_LENGTH"), "read": len(data)}).encode()]

    return app


def test_the_runner_hands_the_app_a_whole_body_and_no_process_environment(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")  # would show up as a request header
    seen, protocol = [], FakeProtocol()
    run = granian_wsgi.runner(_echo_app(seen), LIMITS, app_threads=2)
    assert run(protocol, _scope(io.BytesIO(b"x" * 40), CONTENT_LENGTH="40")) == 200
    assert protocol.answers == [(200, {"Content-Type": "application/json"}, b'{"length": "40", "read": 40}')]
    assert "HTTP_PROXY" not in seen[0] and seen[0]["SERVER_SOFTWARE"] == "Granian"


def test_the_runner_drains_an_over_limit_body_and_closes_after_the_answer():
    seen, protocol = [], FakeProtocol()
    run = granian_wsgi.runner(_echo_app(seen), LIMITS, app_threads=2)
    run(protocol, _scope(io.BytesIO(b"x" * 700), HTTP_TRANSFER_ENCODING="chunked"))
    status, headers, body = protocol.answers[0]
    assert (status, headers["Connection"], json.loads(body)) == (200, "close", {"length": "700", "read": 101})


def test_the_runner_refuses_a_body_past_the_cap_unread():
    seen, protocol = [], FakeProtocol()
    run = granian_wsgi.runner(_echo_app(seen), LIMITS, app_threads=2)
    assert run(protocol, _scope(StalledInput(), CONTENT_LENGTH="1001")) == 413
    status, headers, body = protocol.answers[0]
    assert (status, headers["Connection"], seen) == (413, "close", [])
    assert json.loads(body)["message"] == (
        "request body over the 100-byte limit (MOCK_MAX_BODY_BYTES) and over "
        "1000 bytes: not read; the connection is closed"
    )


@pytest.mark.parametrize("headers", [{"CONTENT_LENGTH": "100"}, {"HTTP_TRANSFER_ENCODING": "chunked"}])
def test_a_stalled_body_is_answered_408_at_the_deadline_and_never_reaches_the_app(headers):
    seen, protocol, body = [], FakeProtocol(), StalledInput()
    run = granian_wsgi.runner(_echo_app(seen), LIMITS, app_threads=1)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(run(protocol, _scope(body, **headers))))
    started = time.monotonic()
    reader.start()
    assert protocol.answered.wait(5)  # while the reading thread is still blocked
    assert LIMITS.timeout_s <= time.monotonic() - started < LIMITS.timeout_s + 1
    status, answer_headers, answer = protocol.answers[0]
    assert (status, answer_headers["Connection"]) == (408, "close")
    assert json.loads(answer) == {
        "code": 408,
        "status": "Request Timeout",
        "message": ("request body not received within 0.3 s (MOCK_READ_TIMEOUT_S); the connection is closed"),
    }
    # The one app place is free: another request is served while the stalled one is parked.
    assert run(protocol, _scope(io.BytesIO(b"{}"), CONTENT_LENGTH="2")) == 200
    body.gone.set()  # the client closes, as `Connection: close` told it to: the parked reader ends
    reader.join(30)
    assert outcome == [408] and len(seen) == 1 and len(protocol.answers) == 2
