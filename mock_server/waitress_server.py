"""waitress for the sandbox: its own errors as JSON, and a deadline on request bodies.

waitress reads a request whole in its I/O loop before a thread runs the app, so a slow body never holds
an app thread. What it lacks is an end: a body that stops coming waits for `channel_timeout` (120 s)
of silence, and a trickle never ends. Here the I/O loop's periodic maintenance answers a body still
incomplete MOCK_READ_TIMEOUT_S after its headers with a 408. waitress's own errors (that 408, a body
past the drain cap, a malformed request) are JSON {code, status, message} like the app's.
"""

from __future__ import annotations

import socket
import time

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.task import ErrorTask, WSGITask
from waitress.utilities import Error, RequestEntityTooLarge

from . import bodyread

CHECK_EVERY_S = 1  # how often the I/O loop looks for late bodies (waitress's cleanup_interval)


def serve(app, sock: socket.socket, threads: int, limits: bodyread.BodyLimits) -> None:
    """Serve `app` on the listening socket `sock` until the process is stopped."""
    from waitress.server import create_server

    server = create_server(
        app,
        sockets=[sock],
        threads=threads,
        ident="rwg-sandbox",
        max_request_body_size=limits.drain_cap,
        cleanup_interval=CHECK_EVERY_S,
    )
    server.channel_class = channel_class(limits)
    maintenance = server.maintenance

    def maintain(now):
        maintenance(now)
        for channel in list(server.active_channels.values()):
            if isinstance(channel, _Channel):
                channel.end_late_body(limits.timeout_s)

    server.maintenance = maintain  # waitress calls it from its I/O loop, where requests are parsed too
    server.run()


class RequestTimeout(Error):
    code = 408
    reason = "Request Timeout"


class _Parser(HTTPRequestParser):
    """waitress's parser, noting when the headers were complete."""

    body_started: float | None = None

    def received(self, data):
        consumed = super().received(data)
        if self.body_started is None and self.headers_finished:
            self.body_started = time.monotonic()
        return consumed


class _JsonErrorTask(ErrorTask):
    """waitress's error answer, as the sandbox's JSON (and the connection closed, as waitress does)."""

    limits: bodyread.BodyLimits

    def execute(self):
        error = self.request.error
        message = self.limits.over_cap_message() if isinstance(error, RequestEntityTooLarge) else str(error.body)
        body = bodyread.error_body(error.code, message)
        self.status = bodyread.status_line(error.code)
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _Task(WSGITask):
    """waitress's app task; after a 413 the connection is closed, as on the other servers."""

    def build_response_header(self):
        if self.status.startswith("413"):
            self.set_close_on_finish()  # the app may not send `Connection` itself (PEP 3333: hop-by-hop)
        return super().build_response_header()


class _Channel(HTTPChannel):
    """waitress's connection, able to end a request whose body is late."""

    parser_class = _Parser
    task_class = _Task
    limits: bodyread.BodyLimits
    body_timed_out = False

    def end_late_body(self, timeout_s: float) -> None:
        """Answer 408 to the request being read if its body is MOCK_READ_TIMEOUT_S late (I/O loop only)."""
        with self.requests_lock:
            request = self.request  # type: ignore[has-type]  # waitress sets it per request
            if request is None or request.completed or request.body_started is None:
                return
            if time.monotonic() - request.body_started < timeout_s:
                return
            request.error = RequestTimeout(self.limits.timeout_message())
            request.completed = True
            self.request = None
            self.body_timed_out = True  # what still arrives is the late body: not a next request
            self.requests.append(request)
            if len(self.requests) == 1:
                self.server.add_task(self)

    def received(self, data):
        if self.body_timed_out:
            return False
        return super().received(data)


def channel_class(limits: bodyread.BodyLimits) -> type:
    """The channel class for these limits (waitress makes one channel per connection)."""
    task = type("JsonErrorTask", (_JsonErrorTask,), {"limits": limits})
    return type("SandboxChannel", (_Channel,), {"limits": limits, "error_task_class": task})
