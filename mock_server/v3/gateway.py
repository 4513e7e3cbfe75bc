"""The /v3 data plane: one declared, ordered list of steps over one Exchange, for every /v3 request.

    STEPS   route -> authenticate -> read_json -> decide_fault -> load_request -> call_method
            (a step that answers skips the rest; in replay mode call_method answers from the recording and
            load_request is not a step: a replay matches what was sent, valid or not)
    ALWAYS  apply_fault -> encode -> log_access -> measure -> record
            (apply_fault changes an answer only when decide_fault planned it: any answer, errors included;
            encode prints a 200 in the tenant's response profile, v3/profiles.py)

Flask never sees a /v3 request: its request machinery, webargs and smorest cost several times the work itself
(bench/inprocess.py measures it), so the control plane keeps them and the data plane is plain WSGI, as
LocalStack serves its AWS data plane. MOCK_TRACE=1 adds an X-Sandbox-Steps header naming the steps taken.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable

import orjson
from werkzeug.http import HTTP_STATUS_CODES

from .. import accesslog
from ..api.auth import NO_AUTH_WARNING, REALM, basic_credentials, with_scheme
from ..api.common import read_json_object
from ..bodyread import declared_length, error_body, reason_phrase
from ..domain.errors import StoreFailed
from ..metrics import ExchangeCounts
from ..recording.replay_mock import answer_from
from ..runtime import DEFAULT_TENANT
from ..tenancy import ENVIRON_KEY, Tenant, TenantRefused, Tenants, check_name, may_create, split_prefix
from .errors import answer_error
from .exchange import BodyRefused, Exchange, done, serving
from .loader import RequestInvalid, loader_for, unknown_fields
from .methods import LISTING, METHODS, NOT_IMPLEMENTED
from .profiles import CANONICAL, shape

_INTERNAL_ERROR = {"code": 500, "status": "Internal Server Error"}  # flask-smorest's words for a 500
_log = logging.getLogger("mock_server")  # where Flask logged a 500 ("Exception on <path> [<method>]")
Step = Callable[[Exchange], None]


class V3Gateway:
    """WSGI app of /v3 over an app's tenants: each exchange works on the state of the tenant its path names."""

    def __init__(self, tenants: Tenants):
        self.tenants = tenants
        settings = tenants.default.runtime.settings
        self.basic_auth_header = tenants.default.runtime.basic_auth_header
        # MOCK_BASIC_AUTH='*:PASSWORD': any username with that password, and the username names the tenant of an
        # un-prefixed request (a client that can only set its credentials still gets a sandbox of its own).
        user, _, password = settings.basic_auth.partition(":")
        self.any_user_password = password.encode() if user == "*" else None
        # MOCK_TENANTS_FILE: a password per tenant; its username is bound to that tenant.
        self.tenant_passwords = tenants.passwords
        replaying = self.replaying = bool(settings.replay)
        self.max_body_bytes = settings.max_body_bytes
        self.max_json_depth = settings.max_json_depth
        self.trace = settings.trace
        self.routes = {f"/v3/{name}".lower(): method for name, method in METHODS.items()}
        self.not_implemented = {  # path -> (method, the 501's message)
            f"/v3/{name}".lower(): (
                name,
                f"/v3/{name} is a documented v3 method (of {integration}) that this sandbox does not implement; "
                f"v3 methods: {LISTING}",
            )
            for name, integration in NOT_IMPLEMENTED.items()
        }
        self.status_lines: dict[int, str] = {}
        self.unattributed = ExchangeCounts()  # exchanges answered before a tenant was selected, naming none that exists
        steps: list[tuple[str, Step]] = [
            ("route", self.route),
            ("authenticate", self.authenticate),
            ("select_tenant", self.select_tenant),
            ("read_json", self.read_json),
            ("decide_fault", self.decide_fault),
            *([] if replaying else [("load_request", self.load_request)]),
            ("call_method", self.replay if replaying else self.call_method),
        ]
        self.steps: tuple[tuple[str, Step], ...] = tuple(steps)
        always: list[tuple[str, Step]] = [
            ("apply_fault", self.apply_fault),
            ("encode", self.encode),
            ("log_access", self.log_access),
            ("measure", self.measure),
        ]
        if settings.record:
            always.append(("record", self.record))
        self.always: tuple[tuple[str, Step], ...] = tuple(always)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.isascii():
            path = path.encode("latin-1").decode("utf-8", "replace")  # WSGI carries the raw bytes as latin-1
        exchange = Exchange(environ, path, environ.get("REQUEST_METHOD", "GET").upper())  # as werkzeug reads it
        token = serving(exchange)
        try:
            self.run(exchange)
        finally:
            done(token)
            if exchange.tenant is not None:  # the tenant's request is over: idle from now, if nothing else runs
                exchange.tenant.in_flight -= 1
                exchange.tenant.last_used = time.time()
        start_response(self.status_line(exchange.status), exchange.headers)
        if exchange.streamed:
            return exchange.out
        return [b""] if exchange.http_method == "HEAD" else [exchange.out]

    def run(self, exchange: Exchange) -> None:
        """Take the steps in order until one answers, then always encode, log and record."""
        trace = exchange.steps if self.trace else None
        for name, step in self.steps:
            if trace is not None:
                trace.append(name)
            try:
                step(exchange)
            except Exception as exc:  # noqa: BLE001 - every outcome is answered; a bug is a logged 500
                exchange.headers.clear()
                if not answer_error(exchange, exc):
                    _log.exception("Exception on %s [%s]", exchange.path, exchange.http_method)
                    exchange.answer(500, dict(_INTERNAL_ERROR))
                break
            if exchange.answered:
                break
        for name, step in self.always:
            if trace is not None:
                trace.append(name)
            try:
                step(exchange)
            except Exception as exc:  # noqa: BLE001 - a bug after the answer was made, or a store that failed
                if name in ("apply_fault", "encode"):  # the answer is not whole: the error's JSON instead
                    exchange.headers.clear()
                    exchange.streamed = False
                    if not isinstance(exc, StoreFailed):  # e.g. a shared store gone while a fault reads a booking
                        _log.exception("Exception on %s [%s] (%s)", exchange.path, exchange.http_method, name)
                        exchange.answer(500, dict(_INTERNAL_ERROR))
                    else:  # after the view: what it changed stays changed, whatever the store says now
                        exchange.fail(
                            exc.status,
                            f"{exc.message.partition(';')[0]}; the change this request asked for, if any, was made: "
                            "read it back, or retry with the same idempotency token",
                        )
                    self.encode(exchange)
                else:
                    _log.exception("Exception on %s [%s] (%s)", exchange.path, exchange.http_method, name)

    # --- STEPS -----------------------------------------------------------------------------------------

    def route(self, exchange: Exchange) -> None:
        """The v3 method, by name in any case, with or without a trailing slash; otherwise 501 JSON for a documented
        method the sandbox does not implement, 404 for anything else, 405 for a verb the method does not take."""
        path = exchange.path
        key = path.lower().rstrip("/")
        method = self.routes.get(key)
        if method is None:
            unserved = self.not_implemented.get(key)
            if unserved is not None:
                exchange.rpc = unserved[0]  # named in the access log and the journal; no step after this one runs
                exchange.fail(501, unserved[1])
            else:
                exchange.fail(404, f"no such path: {path}; v3 methods: {LISTING}")
            return
        canonical = f"/v3/{method.name}"
        if not path.startswith(canonical):
            exchange.path = canonical + ("/" if path.endswith("/") else "")
        verb = exchange.http_method
        if verb not in method.verbs and verb != "OPTIONS":
            allowed = ", ".join(sorted((*method.verbs, "OPTIONS")))
            exchange.fail(405, f"{verb} is not allowed on {exchange.path}; use {allowed}", [("Allow", allowed)])
            return
        exchange.rpc = method.name

    def authenticate(self, exchange: Exchange) -> None:
        """HTTP Basic when MOCK_BASIC_AUTH (or MOCK_TENANTS_FILE) is set: 401 otherwise; one constant-time compare.

        Without credentials configured, a request that sends none draws a warning (Google always sends them).
        """
        sent = exchange.environ.get("HTTP_AUTHORIZATION")
        if self.tenant_passwords:
            user, password = basic_credentials(sent)
            bound = self.tenant_passwords.get(user)
            if bound is not None:
                if not hmac.compare_digest(password, bound):
                    exchange.fail(401, "missing or wrong HTTP Basic credentials", [("WWW-Authenticate", REALM)])
                    return
                exchange.user, exchange.user_bound = user, True
                return
        if self.any_user_password is not None:
            user, password = basic_credentials(sent)
            if not hmac.compare_digest(password, self.any_user_password) or not user:
                exchange.fail(401, "missing or wrong HTTP Basic credentials", [("WWW-Authenticate", REALM)])
                return
            exchange.user = user
            return
        expected = self.basic_auth_header
        if expected is None:
            if self.tenant_passwords:  # only the file's tenants are let in
                exchange.fail(401, "missing or wrong HTTP Basic credentials", [("WWW-Authenticate", REALM)])
            elif sent is None:
                exchange.warn(NO_AUTH_WARNING)
            return
        if sent is None or not hmac.compare_digest(with_scheme(sent, "Basic").encode(), expected.encode()):
            exchange.fail(401, "missing or wrong HTTP Basic credentials", [("WWW-Authenticate", REALM)])

    def select_tenant(self, exchange: Exchange) -> None:
        """The tenant whose state this exchange works on: the path's /t/{tenant}/ prefix, else (with
        MOCK_BASIC_AUTH='*:PASSWORD') the Basic-auth username, else `default`. Created on first use."""
        name = exchange.environ.get(ENVIRON_KEY)
        if name is None:
            name = exchange.user if exchange.user is not None else DEFAULT_TENANT
        elif exchange.user_bound and name != exchange.user:  # a tenant's own password opens only that tenant
            exchange.fail(403, f"these credentials are tenant {exchange.user!r}'s, not {name!r}'s")
            return
        if name in self.tenant_passwords and not (exchange.user_bound and exchange.user == name):
            # A MOCK_TENANTS_FILE tenant takes its own credentials only, whatever MOCK_BASIC_AUTH would let in.
            exchange.fail(
                401,
                f"tenant {name!r} takes its own Basic credentials (MOCK_TENANTS_FILE)",
                [("WWW-Authenticate", REALM)],
            )
            return
        if self.tenants.find(name) is None and not may_create(exchange.environ):
            exchange.fail(403, "a tenant is not created by a request from another web page")
            return
        try:
            tenant = exchange.tenant = self.tenants.get(name)
        except TenantRefused as refused:
            exchange.fail(refused.status, refused.message)
            return
        tenant.in_flight += 1  # released when the exchange is done (run's finally)
        if tenant.runtime.control is not None:
            try:
                tenant.runtime.control.sync()  # what other servers on the store changed: rules, clock, a reset
            except StoreFailed as failed:
                exchange.fail(failed.status, failed.message)
                return
        exchange.fidelity = tenant.runtime.fidelity.current  # one pair for the whole exchange, however it changes

    def read_json(self, exchange: Exchange) -> None:
        """Read the body and parse it as JSON; why it is not a usable object is answered when it is loaded.

        Faults decide before that answer (a transport fault fires on an invalid request too, and a rule matches on
        what the body names), so a JSON object is parsed whatever the Content-Type says or however deep it is.
        """
        if exchange.http_method != "POST":
            return
        if not self.read_body(exchange):
            exchange.body_error = BodyRefused(
                413, f"request body over the {self.max_body_bytes}-byte limit (MOCK_MAX_BODY_BYTES)"
            )
            return
        mimetype = exchange.environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
        body, refusal = read_json_object(exchange.raw, mimetype, self.max_json_depth)
        exchange.body = body
        # One valid JSON object within the depth the journal keeps as it is (a 415 is about the header only).
        exchange.trusted = body is not None and (refusal is None or refusal[0] == 415)
        exchange.body_error = None if refusal is None else BodyRefused(*refusal)

    def read_body(self, exchange: Exchange) -> bool:
        """Read the whole body into exchange.raw, once; False when it is over MOCK_MAX_BODY_BYTES (left unread)."""
        if exchange.body_read:
            return not exchange.unread
        exchange.body_read = True
        environ = exchange.environ
        length = declared_length(environ)
        limit = self.max_body_bytes
        stream = environ.get("wsgi.input")
        if length is not None and length > limit:
            data = None
        elif stream is None:
            data = b""
        elif length is not None:
            data = stream.read(length) if length else b""
        elif environ.get("wsgi.input_terminated"):
            data = stream.read(limit + 1)
            if len(data) > limit:
                data = None
        else:
            data = b""  # no length and no end: nothing a WSGI app may read
        if data is None:
            exchange.unread = "RequestEntityTooLarge"
            return False
        exchange.raw = data
        return True

    @staticmethod
    def decide_fault(exchange: Exchange) -> None:
        """The tenant's fault decision (a magic value or its armed rules); may answer the exchange."""
        exchange.tenant.faults.decide(exchange)

    @staticmethod
    def apply_fault(exchange: Exchange) -> None:
        """The tenant's planned fault applied to whatever the answer is (none before a tenant was selected)."""
        if exchange.tenant is not None:
            exchange.tenant.faults.apply(exchange)

    def load_request(self, exchange: Exchange) -> None:
        """The request message, loaded by the contract's loader (400 naming what is wrong)."""
        if exchange.http_method == "POST":
            V3Gateway.load(exchange)

    @staticmethod
    def load(exchange: Exchange) -> object:
        """The exchange's request, loaded once (the fault preflight asks for it too); raises why it cannot be."""
        state = exchange.state
        if "load_error" in state:
            raise state["load_error"]
        if exchange.request is None:
            try:
                if exchange.body_error is not None:
                    raise exchange.body_error
                schema = METHODS[exchange.rpc or ""].request
                if schema is not None and exchange.fidelity.strict:
                    unknown = unknown_fields(schema, exchange.body)
                    if unknown:  # as Google's strict protobuf parser refuses them (lenient: dropped with a warning)
                        raise RequestInvalid.unknown(unknown)
                exchange.request = {} if schema is None else loader_for(schema)(exchange.body)
            except Exception as exc:
                state["load_error"] = exc
                raise
        return exchange.request

    def call_method(self, exchange: Exchange) -> None:
        """The v3 method's answer (its errors are answered by errors.py)."""
        if exchange.http_method == "OPTIONS":
            self.options(exchange)
            return
        method = METHODS[exchange.rpc or ""]
        exchange.answer(200, method.call(exchange.tenant.runtime, exchange.request, exchange))

    def replay(self, exchange: Exchange) -> None:
        """Replay mode: the recorded answer to this request."""
        if exchange.http_method == "OPTIONS":
            self.options(exchange)
            return
        answer_from(exchange.tenant.recording.book, exchange)

    @staticmethod
    def options(exchange: Exchange) -> None:
        """An OPTIONS request: the verbs the method takes, no body (as Flask answers it)."""
        allowed = ", ".join(sorted((*METHODS[exchange.rpc or ""].verbs, "OPTIONS")))
        exchange.answer(200, None, [("Allow", allowed)], out=b"")
        exchange.content_type = "text/html; charset=utf-8"

    # --- ALWAYS ----------------------------------------------------------------------------------------

    def encode(self, exchange: Exchange) -> None:
        """The answer's bytes and final headers."""
        if exchange.streamed:
            return  # drop_connection: headers made to be refused, a body never sent
        out = exchange.out
        if out is None:
            payload = exchange.payload
            profile = exchange.fidelity.response_profile
            if profile != CANONICAL and exchange.status == 200 and type(payload) is dict and not self.replaying:
                # The tenant's response profile; a replayed answer goes out as it was recorded.
                payload = exchange.payload = shape(exchange.rpc or "", payload, profile, exchange.request)
            out = exchange.out = b"" if payload is None else orjson.dumps(payload)
        head = [("Content-Length", str(len(out)))]
        if exchange.content_type is not None:
            head.insert(0, ("Content-Type", exchange.content_type))
        exchange.headers[:0] = head
        if self.trace:
            exchange.headers.append(("X-Sandbox-Steps", ",".join(exchange.steps)))

    def measure(self, exchange: Exchange) -> None:
        """Count the finished exchange in its tenant's metrics (the journal's figures are read when scraped)."""
        tenant = self.owner(exchange)
        counts = self.unattributed if tenant is None else tenant.counts
        counts.count(exchange, time.perf_counter() - exchange.started)

    def record(self, exchange: Exchange) -> None:
        """Journal the exchange, with the body as sent even when no step needed it (a 404, a 401)."""
        self.read_body(exchange)
        tenant = self.owner(exchange)
        if tenant is not None:  # else a tenant that was never made: nobody's journal
            tenant.recording.recorder.record(exchange)

    def owner(self, exchange: Exchange) -> Tenant | None:
        """The tenant an exchange belongs to: the one selected, else (answered before that: a 404, 405, 401, 503)
        the one its prefix or username names if it exists, else `default` when it names none."""
        tenant = exchange.tenant
        if tenant is None:
            named = exchange.environ.get(ENVIRON_KEY) or exchange.user
            tenant = self.tenants.default if named is None else self.tenants.find(named)
        return tenant

    @staticmethod
    def log_access(exchange: Exchange) -> None:
        """One access line (at INFO; MOCK_LOG_LEVEL=WARNING silences it)."""
        if accesslog.log.isEnabledFor(logging.INFO):
            accesslog.write(
                exchange.http_method,
                exchange.path,
                exchange.status,
                exchange.started,
                exchange.rpc,
                {
                    "tenant": exchange.tenant.name
                    if exchange.tenant is not None and exchange.tenant.name != DEFAULT_TENANT
                    else exchange.environ.get(ENVIRON_KEY) or exchange.user,
                    "no_response": exchange.no_response,
                    "faults": exchange.faults,
                    "warnings": exchange.warnings,
                },
            )

    def status_line(self, status: int) -> str:
        """'404 NOT FOUND', worded as werkzeug words it."""
        line = self.status_lines.get(status)
        if line is None:
            reason = HTTP_STATUS_CODES.get(status) or reason_phrase(status)  # 499: "Client Closed Request"
            line = self.status_lines[status] = f"{status} {reason.upper()}"
        return line


class Dispatcher:
    """The WSGI entry: /v3 to the data plane, everything else to the Flask control plane.

    A `/t/{tenant}` prefix is taken off the path and kept in the environ (ENVIRON_KEY) and in SCRIPT_NAME, so both
    planes serve the rest of the path for that tenant, and the control plane's links keep the prefix.
    """

    def __init__(self, v3: V3Gateway, control):
        self.v3 = v3
        self.control = control

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        prefixed = split_prefix(path)
        if prefixed is not None:
            name, path = prefixed
            try:
                check_name(name)
            except TenantRefused as refused:
                return _refuse(start_response, refused.status, refused.message)
            environ[ENVIRON_KEY] = name
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/t/" + name
            environ["PATH_INFO"] = path
        elif "HTTP_X_SANDBOX_TENANT" in environ:  # for tooling: the same as the prefix, where a prefix is awkward
            name = environ["HTTP_X_SANDBOX_TENANT"].strip()
            try:
                check_name(name)
            except TenantRefused as refused:
                return _refuse(start_response, refused.status, refused.message)
            environ[ENVIRON_KEY] = name
        if path[:4].lower() == "/v3/" or path.lower() == "/v3":
            return self.v3(environ, start_response)
        return self.control(environ, start_response)


def _refuse(start_response, status: int, message: str) -> list[bytes]:
    """A JSON error answered before either plane (a path prefix naming no possible tenant)."""
    body = error_body(status, message)
    start_response(
        f"{status} {HTTP_STATUS_CODES[status].upper()}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]
