"""Flask glue: time each /v3 exchange, describe it after the response, write it when the request is done."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson
from flask import Flask, request

from ..api.common import NOTES_KEY, nests_deeper
from .journal import INDEX_SIZE, Journal
from .lines import KEPT_DEPTH
from .redact import (
    is_secret_header,
    may_hold_secret,
    pii_values,
    redact_header,
    redact_pii,
    redact_pii_body,
    redact_pii_text,
    redact_secret_body,
)

START_KEY = "mock_server.recording.start"
PENDING_KEY = "mock_server.recording.pending"
BODY_KEY = "mock_server.recording.body"  # a request body someone already decoded with decode_body
_UNSEEN = object()
_NO_NOTES: MappingProxyType[str, Any] = MappingProxyType({})  # read-only stand-in when no layer noted anything
# The journal line of a JSON answer, in the key order of build() + complete() (seq numbered by the journal).
_JSON_ANSWER_LINE = (b'{"seq":0,"ts":"%s","clock_sec":%s,%s,"query":%s,"request":{"headers":%s,"body":%s},'
                     b'"response":{"status":200,"headers":{"Content-Type":"application/json",'
                     b'"Content-Length":"%d"},"body":%s},"duration_ms":%s,"faults":[],"warnings":%s}\n')


_SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def is_v3(path: str) -> bool:
    """Only the data plane is recorded: never /_admin, /feeds or the docs."""
    return path.startswith("/v3/") or path == "/v3"


def default_name() -> str:
    """One journal per server start: session-YYYYmmdd-HHMMSS-<pid>."""
    return time.strftime("session-%Y%m%d-%H%M%S", time.gmtime()) + f"-{os.getpid()}"


def journal_path(settings) -> Path:
    """<recordings_dir>/<recording>.jsonl (a trailing .jsonl in the name is not doubled)."""
    name = (settings.recording or default_name()).removesuffix(".jsonl")
    if not _SAFE_NAME.fullmatch(name):
        # The name comes from the environment, but it must still not reach outside the folder.
        raise SystemExit(f"MOCK_RECORDING must be a plain name (letters, digits, '.', '_', '-'), not {name!r}")
    return Path(settings.recordings_dir) / f"{name}.jsonl"


class Recorder:
    """Turns one /v3 exchange into one journal line."""

    def __init__(self, settings, clock, index_size: int = INDEX_SIZE):
        self.enabled = bool(settings.record)
        self.redact = bool(settings.redact_pii)
        self.clock = clock
        self.journal = Journal(journal_path(settings), index_size)
        self._header_names: dict[str, str] = {}  # environ key -> header name
        self._not_headers: set[str] = set()  # environ keys that are not headers
        self._secret_keys: set[str] = set()  # environ keys of named headers that carry credentials
        self._second: tuple[int, str] = (-1, "")
        self._template_heads: dict[str, bytes] = {}  # path -> its `"rpc":…,"method":"POST","path":…` bytes

    def describe(self, response) -> dict:
        """The record of the current request and its response (inside the request context)."""
        # One proxy lookup instead of one per attribute (`request` is a LocalProxy; Flask types it as Request).
        req = request._get_current_object()  # type: ignore[attr-defined]
        environ = req.environ
        rule = req.url_rule
        path = req.path
        notes = environ.get(NOTES_KEY) or _NO_NOTES
        touched = bool(notes.get("faults") or notes.get("no_response")) or self.redact
        status = response.status_code
        answer = None if notes.get("no_response") else (
            status, dict(response.headers.items()),
            None if response.is_streamed else _response_body(response, trusted=not touched))
        # A routed POST answered below 400 got its body through the JSON parser.
        body = _request_body(req, trusted=rule is not None and status < 400 and not touched)
        rpc = (rule.rule if rule is not None else path).rstrip("/").rsplit("/", 1)[-1]
        return self.build(environ, environ[START_KEY][0], rpc, req.method, path, body, answer)

    def build(self, environ: dict, epoch: float, rpc: str, method: str, path: str, body,
              answer: tuple[int, dict, object] | None) -> dict:
        """One exchange's record; `answer` is (status, headers, body), None when nothing was answered."""
        record = {
            "seq": 0,  # first key: the journal finds a line by its prefix; numbered when written
            "ts": self._iso(epoch), "clock_sec": self.clock.now(),
            "rpc": rpc, "method": method, "path": path, "query": environ.get("QUERY_STRING", ""),
            "request": {"headers": self._request_headers(environ), "body": body},
            "response": None if answer is None else {"status": answer[0], "headers": answer[1], "body": answer[2]},
        }
        if self.redact:
            # Personal values by key, then wherever free text quotes them (a replay miss's message does).
            values = pii_values(record["request"]["body"])
            record["request"]["body"] = redact_pii_body(record["request"]["body"])
            if record["response"] is not None:
                record["response"]["body"] = redact_pii_text(redact_pii(record["response"]["body"]), values)
            record["pii_redacted"] = True
            record["pii_values"] = values  # complete() scrubs the warnings with them, then drops them
        return record

    def record_json_answer(self, environ: dict, epoch: float, started: float, path: str, data: bytes,
                           status: int, out: bytes, payload: dict, warnings: list) -> None:
        """Journal a POST the fast path answered with `out`, the sandbox's own JSON of `payload`.

        A 200 goes in from a template instead of nested dicts: the bodies as they are, the same line
        build() + complete() would write. What the template cannot hold as it is (a 500, whose request
        may not even be valid; redaction; payment secrets; a body that is not one line) takes that way.
        """
        rpc = path.rsplit("/", 1)[-1]
        if status != 200 or self.redact or may_hold_secret(data) or not _one_line(data):
            trusted = not self.redact  # redaction needs the parsed bodies
            record = self.build(environ, epoch, rpc, "POST", path, request_body(data, trusted and status == 200),
                                (status, {"Content-Type": "application/json", "Content-Length": str(len(out))},
                                 orjson.Fragment(out) if trusted else payload))
            self.complete(record, epoch, started, {"warnings": warnings})
            return
        head = self._template_heads.get(path)
        if head is None:
            head = self._template_heads[path] = orjson.dumps({"rpc": rpc, "method": "POST", "path": path})[1:-1]
        line = _JSON_ANSWER_LINE % (
            self._iso(epoch).encode(), orjson.dumps(self.clock.now()), head,
            orjson.dumps(environ.get("QUERY_STRING", "")), orjson.dumps(self._request_headers(environ)),
            data, len(out), out,
            orjson.dumps(round((time.perf_counter() - started) * 1000, 3)),
            orjson.dumps(warnings) if warnings else b"[]")
        try:
            self.journal.append_line(line, epoch, rpc, 200)
        except OSError as exc:  # the journal could not be opened
            self.journal.report_failure(exc)

    def _request_headers(self, environ: dict) -> dict:
        """Request headers straight from the WSGI environ (cheaper than werkzeug's Headers view), by name."""
        # The set difference runs in C: the dozens of server and OS keys of an environ drop out there.
        keys = environ.keys() - self._not_headers
        names = self._header_names
        if not keys <= names.keys():
            return self._name_headers(environ, keys)
        headers = {names[key]: environ[key] for key in sorted(keys)}  # every key named before: the usual case
        for key in keys & self._secret_keys:  # credentials keep their place, not their value
            headers[names[key]] = redact_header(names[key], environ[key])
        return headers

    def _name_headers(self, environ: dict, keys: set) -> dict:
        """The headers among `keys`, learning the names of keys not seen before."""
        names, skip, secret_keys = self._header_names, self._not_headers, self._secret_keys
        headers = {}
        for key in sorted(keys):
            name = names.get(key)
            if name is None:
                name = _header_name(key)
                # The caches are bounded: a client inventing header names cannot grow them.
                if not name:
                    if len(skip) < 1024:
                        skip.add(key)
                    continue
                secret = is_secret_header(name)
                if len(names) < 512:
                    names[key] = name
                    if secret:
                        secret_keys.add(key)
            else:
                secret = key in secret_keys
            headers[name] = redact_header(name, environ[key]) if secret else environ[key]
        return headers

    def _iso(self, epoch: float) -> str:
        """2026-01-01T10:00:00.123Z; the whole-second part is formatted once per second."""
        second = int(epoch)
        cached = self._second
        if cached[0] != second:
            cached = self._second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        return f"{cached[1]}.{int((epoch - second) * 1000):03d}Z"

    def finish(self, record: dict, environ: dict) -> None:
        """Complete the record of the request `environ` belongs to."""
        start_epoch, start = environ[START_KEY]
        self.complete(record, start_epoch, start, environ.get(NOTES_KEY) or _NO_NOTES)

    def complete(self, record: dict, epoch: float, started: float, notes) -> None:
        """Add what is only known at the very end (duration, faults, warnings) and write the line."""
        record["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        # The request is over: nobody adds to these lists any more, so they need no copy.
        record["faults"] = notes.get("faults") or []
        record["warnings"] = redact_pii_text(notes.get("warnings") or [], record.pop("pii_values", None) or {})
        reason = notes.get("no_response")
        if reason:
            record["response"] = None
            record["no_response"] = reason if isinstance(reason, str) else "connection dropped"
        try:
            self.journal.append(record, epoch)
        except OSError as exc:  # the journal could not be opened
            self.journal.report_failure(exc)


class CaptureMiddleware:
    """Outermost WSGI layer of the recorder: starts the clock before anything (faults included) runs."""

    def __init__(self, wsgi_app, recorder: Recorder):
        self.wsgi_app = wsgi_app
        self.recorder = recorder

    def __call__(self, environ, start_response):
        if not is_v3(environ.get("PATH_INFO", "")):
            return self.wsgi_app(environ, start_response)
        environ[START_KEY] = (time.time(), time.perf_counter())
        try:
            return self.wsgi_app(environ, start_response)
        finally:
            record = environ.pop(PENDING_KEY, None)
            if record is not None:
                self.recorder.finish(record, environ)


def install_capture(app: Flask, recorder: Recorder) -> None:
    """Wrap the WSGI app and describe each /v3 response after every other after_request hook."""

    def describe_exchange(response):
        environ = request.environ
        if START_KEY in environ:
            environ[PENDING_KEY] = recorder.describe(response)
        return response

    # after_request hooks run in reverse order of registration: first in the list runs last, so this
    # sees the response exactly as every other hook (faults included) left it.
    app.after_request_funcs.setdefault(None, []).insert(0, describe_exchange)
    app.wsgi_app = CaptureMiddleware(app.wsgi_app, recorder)  # type: ignore[method-assign]  # Flask's middleware idiom


def _request_body(req, trusted: bool):
    decoded = req.environ.get(BODY_KEY, _UNSEEN)
    if decoded is not _UNSEEN:  # the replay mock decoded it already: redacted the same way
        return redact_secret_body(req.get_data(cache=True), decoded)
    try:
        data = req.get_data(cache=True)
    except Exception as exc:  # e.g. 413: a body over the limit is never read
        return f"<body not read: {exc.__class__.__name__}>"
    return request_body(data, trusted and req.method == "POST")


def request_body(data: bytes, trusted: bool):
    """A request body as the journal holds it; `trusted`: the body is known to be one valid JSON value."""
    if may_hold_secret(data):  # a key that could be a payment token, in any spelling or escape
        return redact_secret_body(data, decode_body(data))
    if trusted and data and _one_line(data):
        return orjson.Fragment(data)  # already known to be JSON: embedded as it is, not parsed again
    return decode_body(data)


def _response_body(response, trusted: bool):
    chunks = response.response
    # A body built from bytes is a one-item list: read it without get_data()'s encode-and-join.
    data = chunks[0] if type(chunks) is list and len(chunks) == 1 and type(chunks[0]) is bytes \
        else response.get_data()
    if trusted and data and response.headers.get("Content-Type") == "application/json" and _one_line(data):
        # The sandbox's own JSON (orjson-encoded, no fault touched it) goes in as it is: no parse and
        # re-encode, which for a large answer would cost more than everything else.
        return orjson.Fragment(data)
    return decode_body(data)


def _one_line(data: bytes) -> bool:
    # Embedded raw, a line break (only possible as whitespace in valid JSON) would split the journal line.
    return b"\n" not in data and b"\r" not in data


def _header_name(environ_key: str) -> str:
    """HTTP_USER_AGENT -> User-Agent; "" for what is not a header."""
    if not (environ_key.startswith("HTTP_") or environ_key in ("CONTENT_TYPE", "CONTENT_LENGTH")):
        return ""
    return environ_key.removeprefix("HTTP_").replace("_", "-").title()


def decode_body(data: bytes):
    """A JSON object or array parsed; anything else as text (so a str body always means raw text); None if empty.

    JSON nested deeper than KEPT_DEPTH stays text too: orjson reads 1024 levels but writes only 254, and
    the journal line holding the body must be written (and read back) whole.
    """
    if not data:
        return None
    if data.lstrip()[:1] in (b"{", b"["):
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
        else:
            if not nests_deeper(data, KEPT_DEPTH):
                return body
    return data.decode("utf-8", errors="replace")
