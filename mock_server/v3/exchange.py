"""One /v3 exchange as it travels the data plane: what was asked, what was decided, what was answered."""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..bodyread import error_payload
from ..domain.fidelity import BUILT_IN, Fidelity

_current: ContextVar[Exchange | None] = ContextVar("mock_server.v3.exchange", default=None)


class BodyRefused(Exception):
    """The request body is not a usable JSON object: the status (400, 413, 415) and message that say why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True, eq=False)
class Exchange:
    """Every step reads and writes here; the access log and the recorder read the finished exchange."""

    environ: dict
    path: str  # as the client sent it
    http_method: str
    epoch: float = field(default_factory=time.time)
    started: float = field(default_factory=time.perf_counter)
    rpc: str | None = None  # the v3 method, once routed
    raw: bytes = b""  # the request body
    body_read: bool = False  # the body was taken from wsgi.input (into raw, or left unread)
    unread: str = ""  # why the body was not read (a body over the limit: RequestEntityTooLarge)
    body: Any = None  # the body parsed as JSON (a dict), None until read
    body_error: BodyRefused | None = None  # why the body is not a usable JSON object, answered when loaded
    request: Any = None  # the loaded request message (the contract's result)
    warnings: list[str] = field(default_factory=list)
    faults: list[dict] = field(default_factory=list)  # {"id", "kind"} of each fault applied
    no_response: str = ""  # why nothing was answered (drop_connection)
    answered: bool = False  # a step has answered: the remaining steps are skipped
    status: int = 200
    payload: Any = None  # the JSON answer, encoded by the encode step
    out: Any = None  # the body as sent: bytes, or an iterable a server streams (drop_connection)
    content_type: str | None = "application/json"  # None: no Content-Type header
    headers: list[tuple[str, str]] = field(default_factory=list)  # beyond Content-Type and Content-Length
    streamed: bool = False  # `out` is an iterable whose headers are final as they are (drop_connection)
    trusted: bool = False  # `raw` is one valid JSON object as read (recorded without a second parse)
    replayed: bool = False  # CreateBooking answered the booking an earlier request made (same idempotency token)
    touched: bool = False  # a fault changed the answer after it was made: record what was sent, parsed
    steps: list[str] = field(default_factory=list)  # the steps taken, in order (MOCK_TRACE shows them)
    state: dict = field(default_factory=dict)  # step-private data (the fault plan)
    tenant: Any = None  # the tenancy.Tenant whose state this exchange works on (selected after authenticate)
    user: str | None = None  # the Basic-auth username, under MOCK_BASIC_AUTH='*:PASSWORD' or MOCK_TENANTS_FILE
    user_bound: bool = False  # the username is a MOCK_TENANTS_FILE tenant's, checked against its own password
    fidelity: Fidelity = BUILT_IN  # the tenant's strict mode and response profile, as the exchange started

    def answer(
        self, status: int, payload: Any = None, headers: list[tuple[str, str]] | None = None, out: bytes | None = None
    ) -> None:
        """Answer with `payload` (encoded later) or the bytes `out`; the steps after this one are skipped."""
        self.answered = True
        self.status = status
        self.payload = payload
        self.out = out
        if headers:
            self.headers.extend(headers)

    def fail(self, status: int, message: str, headers: list[tuple[str, str]] | None = None, errors: Any = None) -> None:
        """Answer the sandbox's JSON error {code, status, message[, errors]}."""
        payload = error_payload(status, message, errors)
        # A schema's errors key list items by index (ints): encoded here, with the option that allows them.
        out = None if errors is None else orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)
        self.answer(status, payload, headers, out)

    def warn(self, message: str) -> None:
        """Attach a warning to the exchange once (the access log and the recording show it)."""
        if message not in self.warnings:
            self.warnings.append(message)


def note_warning(message: str) -> None:
    """Attach a warning to the exchange being served in this context (none: nowhere to put it)."""
    exchange = _current.get()
    if exchange is not None:
        exchange.warn(message)


def serving(exchange: Exchange | None):
    """Make `exchange` the current one; returns the token that `done` takes."""
    return _current.set(exchange)


def done(token) -> None:
    """Restore the exchange that was current before `serving`."""
    _current.reset(token)
