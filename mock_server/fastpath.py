"""The fast path: everyday /v3 calls answered straight from WSGI, without Flask's request machinery.

Flask, flask-smorest and webargs cost several times the work itself on a small call (bench/inprocess.py
measures it). For what a client sends all day (BatchAvailabilityLookup, CreateBooking, a plain
cancellation) in its canonical form, with no fault armed, this layer does what the Flask pipeline
does: check the credentials, call the domain, answer, log the access line and record the exchange,
with the same bytes. Anything else (a fault rule, a magic value, wrong credentials, an unusual or
invalid body, a domain error) goes to Flask untouched, so every error and every fault has one
implementation. tests/api/test_fastpath.py sends each request both ways and compares everything.
"""

from __future__ import annotations

import hmac
import io
import logging
import time

import orjson

from . import accesslog
from .api.auth import NO_AUTH_WARNING
from .api.booking_v3 import fastread
from .api.common import nests_deeper
from .domain.errors import InvalidRequest, NotFound, StoreFailed
from .faults import magic
from .v3 import answers

# Content types the JSON parser takes without a word (anything else: Flask's 415 or its own rules).
_JSON_TYPES = frozenset({"", "application/json", "application/json; charset=utf-8",
                         "application/json;charset=utf-8"})
_STATUS_LINES = {200: "200 OK", 500: "500 INTERNAL SERVER ERROR"}  # as werkzeug words them
_INTERNAL_ERROR: tuple[dict, list[str]] = ({"code": 500, "status": "Internal Server Error"}, [])
_flask_log = logging.getLogger("mock_server")  # the Flask app's logger (app.logger), where Flask logs a 500


class FastV3:
    """WSGI middleware in front of the Flask app; see the module docstring for what it takes."""

    def __init__(self, wsgi_app, runtime, engine, recorder):
        self.wsgi_app = wsgi_app
        self.runtime = runtime
        self.engine = engine
        self.recorder = recorder if recorder.enabled else None
        self.max_json_depth = runtime.settings.max_json_depth
        self.handlers = {"/v3/BatchAvailabilityLookup": self._lookup, "/v3/CreateBooking": self._create,
                         "/v3/UpdateBooking": self._cancel}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO")
        handler = self.handlers.get(path)
        if handler is None or environ.get("REQUEST_METHOD") != "POST" or not self._plain(environ):
            return self.wsgi_app(environ, start_response)
        epoch, started = time.time(), time.perf_counter()
        data = self._read(environ)
        if data is None:
            return self.wsgi_app(environ, start_response)
        answer = self._answer(handler, path, environ, data)
        if answer is None:
            environ["wsgi.input"] = io.BytesIO(data)  # Flask reads the body again from the start
            return self.wsgi_app(environ, start_response)
        return self._respond(start_response, environ, path, data, answer, epoch, started)

    def _plain(self, environ) -> bool:
        """No fault armed or named, credentials right (or off), a JSON body of a size Flask would take."""
        if self.engine.active or magic.HEADER_KEY in environ:
            return False
        expected = self.runtime.basic_auth_header
        sent = environ.get("HTTP_AUTHORIZATION")
        if expected is not None and (sent is None or not hmac.compare_digest(sent.encode(), expected.encode())):
            return False  # Flask answers the 401
        length = environ.get("CONTENT_LENGTH", "")
        return (environ.get("CONTENT_TYPE", "") in _JSON_TYPES and length.isascii() and length.isdigit()
                and 0 < int(length) <= self.runtime.settings.max_body_bytes)

    @staticmethod
    def _read(environ) -> bytes | None:
        """The whole body, or None when the client sent less than it announced (Flask says what happened)."""
        length = int(environ["CONTENT_LENGTH"])
        data = environ["wsgi.input"].read(length)
        if len(data) != length:
            environ["wsgi.input"] = io.BytesIO(data)
            return None
        return data

    def _answer(self, handler, path: str, environ, data: bytes) -> tuple[tuple, int] | None:
        """((answer, warnings), status) of a request this path takes, else None (nothing was changed)."""
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError:
            return None
        # Deeper than MOCK_MAX_JSON_DEPTH: Flask's parser answers the 400 (the readers here only take shallow
        # shapes, but the limit should not depend on that).
        if (type(body) is not dict or nests_deeper(data, self.max_json_depth)
                or magic.scan(path[4:], environ, body) is not None):
            return None
        try:
            answer = handler(body)
        except (InvalidRequest, NotFound, StoreFailed):
            return None  # raised before any change (the store writes ahead): Flask's handlers word the answer
        except Exception:  # noqa: BLE001 - a bug
            # Not retried through Flask: a bug may have left a change half made. The same logged JSON 500
            # as Flask's, instead.
            _flask_log.exception("Exception on %s [POST]", path)
            return _INTERNAL_ERROR, 500
        return None if answer is None else (answer, 200)

    def _lookup(self, body) -> tuple[dict, list] | None:
        req = fastread.batch_availability_lookup(body, self.runtime.settings.max_slot_times)
        return None if req is None else (answers.availability(self.runtime.bookings, req["merchant_id"],
                                                              req["specs"]), [])

    def _create(self, body) -> tuple[dict, list] | None:
        req = fastread.create_booking(body)
        return None if req is None else answers.create(self.runtime.bookings, req)

    def _cancel(self, body) -> tuple[dict, list] | None:
        req = fastread.cancel_booking(body)
        return None if req is None else (answers.cancel(self.runtime.bookings, req["booking"]["booking_id"]), [])

    def _respond(self, start_response, environ, path, data, outcome, epoch, started):
        """Send the answer as Flask would, then log and record it as Flask's hooks would."""
        (payload, warnings), status = outcome
        if self.runtime.basic_auth_header is None and "HTTP_AUTHORIZATION" not in environ:
            warnings = [NO_AUTH_WARNING, *warnings]
        out = orjson.dumps(payload)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(out)))]
        start_response(_STATUS_LINES[status], headers)
        if accesslog.log.isEnabledFor(logging.INFO):
            accesslog.write("POST", path, status, started, path[4:], {"warnings": warnings})
        if self.recorder is not None:
            self.recorder.record_json_answer(environ, epoch, started, path, data, status, out, payload, warnings)
        return [out]


def install(app, runtime) -> None:
    """Put the fast path in front of the app (not in replay mode: there /v3 answers come from a recording)."""
    from .faults import engine_of
    from .recording import STATE_KEY

    if runtime.settings.fast_path and not runtime.settings.replay:
        app.wsgi_app = FastV3(app.wsgi_app, runtime, engine_of(app), app.extensions[STATE_KEY].recorder)

