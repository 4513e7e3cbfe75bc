"""The recorder: a finished /v3 exchange, or an admin action's marker, becomes one journal line (the one encoder)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import orjson

from ..api.common import nests_deeper
from .journal import INDEX_SIZE, Journal
from .lines import KEPT_DEPTH
from .markers import INDEX_RPC
from .redact import (
    is_secret_header,
    may_hold_secret,
    pii_values,
    redact_header,
    redact_headers,
    redact_pii,
    redact_pii_body,
    redact_pii_text,
    redact_secret_body,
)

_SAFE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


_started: dict[int, str] = {}  # pid -> its journal name: every tenant's journal is named after the same start


def default_name() -> str:
    """One journal per server start: session-YYYYmmdd-HHMMSS-<pid> (a tenant made later keeps the start's name)."""
    pid = os.getpid()
    name = _started.get(pid)
    if name is None:
        name = _started[pid] = time.strftime("session-%Y%m%d-%H%M%S", time.gmtime()) + f"-{pid}"
    return name


def journal_path(settings, tenant: str = "default") -> Path:
    """<recordings_dir>/<recording>.jsonl, and <recording>--<tenant>.jsonl for any tenant but the default."""
    name = (settings.recording or default_name()).removesuffix(".jsonl")
    if not _SAFE_NAME.fullmatch(name):
        # The name comes from the environment, but it must still not reach outside the folder.
        raise SystemExit(f"MOCK_RECORDING must be a plain name (letters, digits, '.', '_', '-'), not {name!r}")
    suffix = "" if tenant == "default" else f"--{tenant}"  # tenant names are plain: [a-z0-9][a-z0-9._-]*
    if settings.workers > 1:  # each worker process journals what it served, to a file of its own
        suffix += f"--worker-{os.getpid()}"
    return Path(settings.recordings_dir) / f"{name}{suffix}.jsonl"


# One journal line; its first key is seq: the journal numbers a line by swapping that prefix, and finds one by it.
_LINE = (
    b'{"seq":0,"ts":"%s","clock_sec":%s,%s,"query":%s,"request":{"headers":%s,"body":%s},"response":%s,'
    b'"duration_ms":%s,"faults":%s,"warnings":%s%s}\n'
)
_RESPONSE = b'{"status":%d,"headers":%s,"body":%s}'
# A marker line (markers.py): an admin action between exchanges; seq first too, numbered the same way.
_MARKER = b'{"seq":0,"ts":"%s","clock_sec":%s,"marker":%s,"via":%s,"detail":%s%s}\n'


def _rpc_of(path: str) -> str:
    """The method a path names (for an unrouted /v3 path: its last segment)."""
    return path.rstrip("/").rsplit("/", 1)[-1]


class Recorder:
    """Turns one /v3 exchange into one journal line."""

    def __init__(self, settings, clock, index_size: int = INDEX_SIZE, tenant: str = "default"):
        self.enabled = bool(settings.record)
        self.redact = bool(settings.redact_pii)
        self.clock = clock
        self.journal = Journal(journal_path(settings, tenant), index_size)
        self.tenant = tenant
        # Lines of a tenant other than the default name it (the default's lines are as they always were).
        self._tenant_tail = b"" if tenant == "default" else b',"tenant":' + orjson.dumps(tenant)
        self._header_names: dict[str, str] = {}  # environ key -> header name
        self._not_headers: set[str] = set()  # environ keys that are not headers
        self._secret_keys: set[str] = set()  # environ keys of named headers that carry credentials
        self._second: tuple[int, str] = (-1, "")
        self._heads: dict[tuple[str, str, str], bytes] = {}

    def record(self, exchange) -> None:
        """Journal one finished /v3 exchange (a v3.exchange.Exchange) as one line."""
        try:
            self.journal.append_line(
                self.encode(exchange),
                exchange.epoch,
                exchange.rpc or _rpc_of(exchange.path),
                None if exchange.no_response else exchange.status,
            )
        except OSError as exc:  # the journal could not be opened
            self.journal.report_failure(exc)

    def record_outbound(self, record: dict, status: int | None) -> None:
        """Journal one request the sandbox sent (a notification attempt: `"kind": "notification"`), numbered with
        the exchanges; its personal fields redacted as theirs are."""
        if not self.enabled:
            return
        response = record["response"]
        if response is not None and any(is_secret_header(name) for name in response["headers"]):
            # The receiver's credentials (Set-Cookie, ...) are never recorded, as a client's are not.
            record = {**record, "response": {**response, "headers": redact_headers(response["headers"].items())}}
        if self.redact:
            request, response = record["request"], record["response"]
            record = {**record, "request": {**request, "body": redact_pii_body(request["body"])}}
            if response is not None:
                record["response"] = {**response, "body": redact_pii(response["body"])}
            record["pii_redacted"] = True
        if self.tenant != "default":
            record = {**record, "tenant": self.tenant}
        try:
            self.journal.append_line(orjson.dumps(record) + b"\n", time.time(), record["rpc"], status)
        except OSError as exc:
            self.journal.report_failure(exc)

    def mark(self, kind: str, detail: dict, via: str = "api") -> None:
        """Journal an admin action (a markers.py kind) as a marker line, in order with the exchanges."""
        if not self.enabled:
            return
        epoch = time.time()
        try:
            self.journal.append_line(self.encode_marker(kind, detail, via, epoch), epoch, INDEX_RPC, None)
        except OSError as exc:  # the journal could not be opened
            self.journal.report_failure(exc)

    def encode_marker(self, kind: str, detail: dict, via: str, epoch: float) -> bytes:
        """The journal line of a marker: when, the sandbox clock, its kind, where it came from and its detail."""
        return _MARKER % (
            self._iso(epoch).encode(),
            orjson.dumps(self.clock.now()),
            orjson.dumps(kind),
            orjson.dumps(via),
            orjson.dumps(detail),
            self._tenant_tail,
        )

    def encode(self, exchange) -> bytes:
        """The journal line of an exchange: the one encoder of a line (its seq is numbered by the journal).

        Bodies known to be one line of valid JSON go in as they are (no parse and re-encode, which for a large
        answer would cost more than everything else); anything else, and everything under PII redaction, is
        parsed and encoded here.
        """
        environ = exchange.environ
        redact = self.redact
        if exchange.unread:  # a body over MOCK_MAX_BODY_BYTES is never read: the record says so instead
            request: object = f"<body not read: {exchange.unread}>"
        else:
            request = request_body(exchange.raw, exchange.trusted and not redact)
        values: dict = {}
        if redact:
            # Personal values by key, then wherever free text quotes them (a replay miss's message does).
            values = pii_values(request)
            request = redact_pii_body(request)
        if exchange.no_response:
            response = b"null"
        else:
            out, payload = exchange.out, exchange.payload
            if exchange.streamed:
                body: object = None
            elif payload is not None and not redact and _one_line(out):
                body = out  # the sandbox's own JSON, as it went out
            elif payload is not None and out is None:
                body = payload  # never encoded (nothing was sent)
            else:
                body = decode_body(out)
            if redact:
                body = redact_pii_text(redact_pii(body), values)
            encoded_body = body if type(body) is bytes else orjson.dumps(body)
            response = _RESPONSE % (exchange.status, orjson.dumps(dict(exchange.headers)), encoded_body)
        tail = self._tenant_tail
        in_force = exchange.fidelity.journal_form()  # None under the built-in defaults: the line as it always was
        if in_force is not None:
            tail += b',"settings":' + orjson.dumps(in_force)
        if exchange.no_response:
            tail += b',"no_response":' + orjson.dumps(exchange.no_response)
        if redact:
            tail += b',"pii_redacted":true'
        warnings = redact_pii_text(exchange.warnings, values) if redact else exchange.warnings
        return _LINE % (
            self._iso(exchange.epoch).encode(),
            orjson.dumps(self.clock.now()),
            self._head(exchange.rpc or _rpc_of(exchange.path), exchange.http_method, exchange.path),
            orjson.dumps(environ.get("QUERY_STRING", "")),
            orjson.dumps(self._request_headers(environ)),
            exchange.raw if type(request) is orjson.Fragment else orjson.dumps(request),  # a Fragment is raw
            response,
            orjson.dumps(round((time.perf_counter() - exchange.started) * 1000, 3)),
            orjson.dumps(exchange.faults) if exchange.faults else b"[]",
            orjson.dumps(warnings) if warnings else b"[]",
            tail,
        )

    def _head(self, rpc: str, method: str, path: str) -> bytes:
        """`"rpc":…,"method":…,"path":…` encoded once per (rpc, method, path) seen (bounded)."""
        key = (rpc, method, path)
        head = self._heads.get(key)
        if head is None:
            head = orjson.dumps({"rpc": rpc, "method": method, "path": path})[1:-1]
            if len(self._heads) < 256:  # a client inventing paths cannot grow it
                self._heads[key] = head
        return head

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


def request_body(data: bytes, trusted: bool):
    """A request body as the journal holds it; `trusted`: the body is known to be one valid JSON value."""
    if may_hold_secret(data):  # a key that could be a payment token, in any spelling or escape
        return redact_secret_body(data, decode_body(data))
    if trusted and data and _one_line(data):
        return orjson.Fragment(data)  # already known to be JSON: embedded as it is, not parsed again
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
