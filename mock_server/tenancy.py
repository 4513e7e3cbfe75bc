"""Tenants: many isolated sandboxes in one server, each selected by a `/t/{tenant}/` path prefix.

A tenant is created on first use and holds everything a client can change: bookings, idempotency tokens and the spots
they hold, the clock, the fault rules and dice, the journal, reset. What never changes is shared: the settings, the
parsed fixture and the inventory materialised from it (one per day, see storage/fixtures.materialise). Un-prefixed
paths are the tenant `default`, which is the app's own state as it always was (persistence included).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .domain.bookings import BookingListener, IdempotencyRecord
from .domain.errors import StoreFailed
from .domain.models import Booking, MarketingPreference
from .metrics import ExchangeCounts
from .runtime import DEFAULT_TENANT, Runtime, tenant_file
from .storage import redis_store
from .storage.persistence import CorruptStore

if TYPE_CHECKING:
    from .faults.engine import FaultEngine
    from .faults.step import FaultSteps
    from .recording import RecordingState

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
ENVIRON_KEY = "mock_server.tenant"  # the tenant a request's path prefix named (the Dispatcher sets it)
TENANTS_KEY = "mock_server.tenants"  # app.extensions: the registry


class TenantRefused(Exception):
    """A tenant that cannot be served: a bad name (404) or one over MOCK_MAX_TENANTS (503)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(eq=False)
class Tenant:
    """One tenant's state: its runtime, its fault engine and steps, and its recording state."""

    name: str
    runtime: Runtime
    engine: FaultEngine
    recording: RecordingState
    faults: FaultSteps  # bound to this tenant's engine and runtime
    last_used: float = field(default_factory=time.time)
    in_flight: int = 0  # /v3 requests working on it now: an idle eviction leaves a busy tenant alone
    counts: ExchangeCounts = field(default_factory=ExchangeCounts)  # its /v3 figures (GET /_admin/metrics)
    gone: bool = False  # forgotten (deleted or evicted): what is still queued for it (notifications) is dropped

    def forget(self, erase: bool) -> None:
        """Let go of the tenant: a request still working on it changes nothing on disk from here on (its change is
        refused, 503), its journal is written out and closed, and its store closed, or erased."""
        self.gone = True
        with self.runtime.bookings.lock:
            self.runtime.bookings.listener = _Gone()
        self.recording.recorder.journal.close()
        if self.runtime.persistence is not None:
            if erase:
                self.runtime.persistence.erase()
            else:
                self.runtime.persistence.close()


class _Gone(BookingListener):
    """The store listener of a tenant that was deleted or evicted: any change still in flight is refused (503)."""

    def commit(self, booking: Booking, token: str | None = None, record: IdempotencyRecord | None = None) -> None:
        raise StoreFailed("the tenant was deleted or evicted while this request ran; nothing was changed")

    def marketing(self, preference: MarketingPreference) -> None:
        raise StoreFailed("the tenant was deleted or evicted while this request ran; nothing was changed")


class Tenants:
    """The registry: the default tenant, and the others by name, created on first use up to `limit`."""

    def __init__(
        self,
        default: Tenant,
        build: Callable[[str], Tenant],
        limit: int,
        idle_s: float = 0,
        passwords: dict[str, bytes] | None = None,
    ):
        self.default = default
        self.passwords = passwords or {}  # MOCK_TENANTS_FILE: tenant -> its own Basic-auth password
        self._build = build
        self.limit = limit
        self.idle_s = idle_s  # a tenant unused this long is forgotten when room is needed (0: never)
        self.evicted = 0
        self.stopping = False  # the server is stopping: every engine, a new tenant's too, holds nothing
        self._others: dict[str, Tenant] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Tenant:
        """The tenant of this name, created on first use; TenantRefused for a bad name or one over the limit."""
        if name == DEFAULT_TENANT:
            tenant = self.default
        else:
            tenant = self._others.get(name) or self._create(name)
        tenant.last_used = time.time()
        return tenant

    def _create(self, name: str) -> Tenant:
        check_name(name)
        with self._lock:  # one build per name, even when its first requests race
            tenant = self._others.get(name)
            if tenant is None:
                if len(self._others) + 1 >= self.limit:
                    self._evict_idle()
                if len(self._others) + 1 >= self.limit:
                    raise TenantRefused(
                        503,
                        f"tenant limit reached: {self.limit} tenants (MOCK_MAX_TENANTS); "
                        "remove one with DELETE /_admin/tenants/<name>",
                    )
                tenant = self._others[name] = self._make(name)
        return tenant

    def _make(self, name: str) -> Tenant:
        """Build a tenant; what its start-up refuses (a changed scenario or replay file, a damaged store of its
        own) is a 503 naming why, never a 500 or a stopped server."""
        # No GC settle here: a full collection of every tenant's state per build grows with the tenants (the
        # serving process's PauseGuard freezes what survives a slow collection instead).
        try:
            tenant = self._build(name)
        except SystemExit as exc:
            raise TenantRefused(503, f"tenant {name!r} cannot start: {exc}") from None
        except (CorruptStore, StoreFailed) as exc:
            raise TenantRefused(503, f"tenant {name!r} cannot start: {exc}") from None
        if self.stopping:
            tenant.engine.stop()
        return tenant

    def stop(self) -> None:
        """The server is stopping: release every held request, in every tenant, now and from here on."""
        self.stopping = True
        for tenant in self.all():
            tenant.engine.stop()

    def _evict_idle(self) -> None:
        """Forget the tenants idle for MOCK_TENANT_IDLE_S (their state lives in memory only; see the README)."""
        if self.idle_s <= 0:
            return
        cutoff = time.time() - self.idle_s
        idle = [name for name, tenant in self._others.items() if tenant.last_used < cutoff and not tenant.in_flight]
        for name in idle:
            self._others.pop(name).forget(erase=False)  # its files stay: read back when a request names it again
            self.evicted += 1

    def find(self, name: str) -> Tenant | None:
        """The tenant if it exists (never creates one)."""
        return self.default if name == DEFAULT_TENANT else self._others.get(name)

    def remove(self, name: str) -> bool:
        """Forget a tenant and its state, on disk or in a shared store too (not the default, which a reset empties
        instead). A shared store's copy goes first: when it cannot, the tenant stays as it was (503)."""
        with self._lock:
            shared = self._erase_shared(name)
            tenant = self._others.pop(name, None)
            if tenant is None:
                return self._erase_stored(name) or shared  # evicted, from before a restart, or another server's
            tenant.forget(erase=True)
        return True

    def _erase_shared(self, name: str) -> bool:
        """Delete the tenant from a Redis store, for every server on it; whether it was there."""
        store = self.default.runtime.shared_store
        if store is None or not NAME.fullmatch(name):
            return False
        return redis_store.reset_tenant(store[0], redis_store.TenantKeys(store[1].prefix, name), None)[0]

    def _erase_stored(self, name: str) -> bool:
        """Delete the store files of a tenant that is not in memory; whether it had any."""
        persistence = self.default.runtime.persistence
        if persistence is None or not NAME.fullmatch(name):
            return False
        path = tenant_file(persistence.path, name)
        found = [p for p in (path, path.with_name(path.name + ".wal")) if p.exists()]
        for stored in found:
            stored.unlink()
        return bool(found)

    def all(self) -> list[Tenant]:
        """Every tenant, the default first, then by name."""
        with self._lock:
            others = sorted(self._others.values(), key=lambda t: t.name)
        return [self.default, *others]


def read_passwords(path: str | os.PathLike[str]) -> dict[str, bytes]:
    """MOCK_TENANTS_FILE: {"<tenant>": "<password>"}; SystemExit naming the file and the problem otherwise."""
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"MOCK_TENANTS_FILE: {path}: {exc}") from None
    if not isinstance(data, dict) or not data:
        raise SystemExit(f"MOCK_TENANTS_FILE: {path}: must be a JSON object of tenant name -> password")
    for name, password in data.items():
        if not NAME.fullmatch(name) or not isinstance(password, str) or not password:
            raise SystemExit(f"MOCK_TENANTS_FILE: {path}: {name!r} needs a tenant name and a non-empty password")
    return {name: password.encode() for name, password in data.items()}


def may_create(environ: dict) -> bool:
    """May this request create a tenant? Not one a browser sends from another site (an <img> or a form on a web page
    could otherwise fill MOCK_MAX_TENANTS); any other client may."""
    if environ.get("HTTP_SEC_FETCH_SITE", "") == "cross-site":
        return False
    from .api.guard import names_host  # the control plane's own same-origin test

    origin = environ.get("HTTP_ORIGIN")
    return not origin or names_host(origin, environ.get("HTTP_HOST", ""))


def check_name(name: str) -> None:
    """TenantRefused (404) unless `name` can name a tenant."""
    if not NAME.fullmatch(name):
        raise TenantRefused(404, f"no such tenant: {name!r} (names match [a-z0-9][a-z0-9._-]{{0,62}})")


def split_prefix(path: str) -> tuple[str, str] | None:
    """('acme', '/v3/CreateBooking') for '/t/acme/v3/CreateBooking'; None when the path has no tenant prefix."""
    if not path.startswith("/t/"):
        return None
    name, slash, rest = path[3:].partition("/")
    return name, slash + rest


# The tenant a background task works for (no request names one): the notifier's clock watch.
_ACTING_FOR: contextvars.ContextVar[Tenant | None] = contextvars.ContextVar("rwg_acting_for", default=None)


@contextlib.contextmanager
def acting_for(tenant: Tenant) -> Iterator[None]:
    """Within this block, outside any request, current_tenant() (and get_runtime()) is `tenant`."""
    token = _ACTING_FOR.set(tenant)
    try:
        yield
    finally:
        _ACTING_FOR.reset(token)


def current_tenant() -> Tenant:
    """The tenant of the current control-plane request (the default tenant outside one, or unprefixed), or the one
    a background task acts for."""
    from flask import current_app, has_request_context, request

    acting = _ACTING_FOR.get()
    if acting is not None:
        return acting
    tenants: Tenants = current_app.extensions[TENANTS_KEY]
    if not has_request_context():
        return tenants.default
    name = request.environ.get(ENVIRON_KEY)
    if name is None:
        return tenants.default
    if tenants.find(name) is None and not may_create(request.environ):
        raise TenantRefused(403, "a tenant is not created by a request from another web page")
    return tenants.get(name)


def sync_current() -> None:
    """Before a control-plane request: take on what other servers on a shared store changed in its tenant (one that
    exists: a request never creates a tenant for this), rule counts included."""
    from flask import current_app, request

    tenants: Tenants = current_app.extensions[TENANTS_KEY]
    name = request.environ.get(ENVIRON_KEY)
    tenant = tenants.default if name is None else tenants.find(name)
    if tenant is not None:
        tenant.runtime.sync(counts=True)
