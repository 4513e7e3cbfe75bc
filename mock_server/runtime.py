"""Per-app container of all state: settings, clock, RNG, fixtures, bookings and persistence."""

from __future__ import annotations

import base64
import functools
import hashlib
import random
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from . import linewriter
from .config import Settings, resolve_path
from .domain.bookings import BookingListener, BookingService
from .domain.clock import SandboxClock
from .domain.fidelity import FidelitySettings
from .storage import fixtures, redis_store
from .storage.fixtures import FixtureData
from .storage.persistence import (
    CorruptStore,
    Persistence,
    decode_booking,
    decode_entry,
    decode_preference,
    decode_record,
    decode_waitlist_token,
)

if TYPE_CHECKING:
    from .faults.engine import FaultEngine
    from .storage.redis_control import SharedControl
    from .storage.snapshot import Restored

EXTENSION_KEY = "mock_server"
DEFAULT_TENANT = "default"


def tenant_file(path: Path, tenant: str) -> Path:
    """The default tenant's own path; `db--acme.json` for tenant acme of `db.json`."""
    return path if tenant == DEFAULT_TENANT else path.with_name(f"{path.stem}--{tenant}{path.suffix}")


def tenant_seed(seed: int, tenant: str) -> int:
    """A tenant's own seed: stable for (MOCK_SEED, name), unrelated to any other tenant's."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{tenant}".encode()).digest()[:8], "big")


# Runs around each rebuild of the state (a reset): nothing by default. A serving process sets its GC policy
# here (process.state_policy, installed by serve); an app built in a test touches nothing process-wide.
StatePolicy = Callable[[], AbstractContextManager[object]]


class Runtime:
    """Everything one sandbox instance knows; tests build one per app, so nothing leaks."""

    def __init__(self, settings: Settings, tenant: str = DEFAULT_TENANT, fixture: FixtureData | None = None):
        self.settings = settings
        self.tenant = tenant
        self.clock = SandboxClock(frozen_at=settings.clock)
        # Strict mode and the response profile: per tenant, shared on a Redis store like the clock.
        self.fidelity = FidelitySettings(settings.strict, settings.response_profile)
        # The fault dice: the default tenant's are MOCK_SEED's, as always; another tenant's are derived from the seed
        # and its name, so no tenant's traffic can shift another's draws.
        self.seed = settings.seed if tenant == DEFAULT_TENANT else tenant_seed(settings.seed, tenant)
        self.rng = random.Random(self.seed)
        # Precomputed so each request costs one constant-time compare of the whole header.
        self.basic_auth_header = (
            "Basic " + base64.b64encode(settings.basic_auth.encode()).decode() if settings.basic_auth else None
        )
        self.fixture_path = resolve_path(settings.fixture)
        # Each tenant persists to its own files beside MOCK_DB_PATH's (<name>--<tenant><suffix>), so its state
        # survives a restart and an idle eviction: it is read back when a request names the tenant again.
        self.persistence = (
            Persistence(tenant_file(resolve_path(settings.db_path), tenant), fsync=settings.db_fsync)
            if settings.db_path
            else None
        )
        self._reset_lock = threading.Lock()
        # Extensions (faults, recorder) register what a reset must also clear, and what health reports.
        self.reset_hooks: list[Callable[[bool], None]] = []
        self.health_sections: dict[str, Callable[[], dict]] = {}
        self.state_policy: StatePolicy = nullcontext
        self.anchor_sec = self.clock.now()
        self.fixture = fixtures.read(self.fixture_path) if fixture is None else fixture
        # MOCK_STORE on Redis: this tenant's client and key names (None: state in this process's memory).
        self.shared_store = (
            None
            if settings.store == "memory"
            else (redis_store.client_for(settings.store), redis_store.TenantKeys(settings.store_prefix, tenant))
        )
        # With a Redis store: the clock and fault rules kept in step with the other servers (faults.engine_for sets it).
        self.control: SharedControl | None = None
        self.epoch = ""  # with a Redis store: the tenant's epoch there (redis_store.new_epoch)
        self.bookings = self._start()

    def sync(self, counts: bool = False, claim: bool = True) -> bool:
        """Take on what other servers on the store changed (nothing to do in memory); False when, without `claim`,
        the tenant is no longer in the store (see RedisControl.sync)."""
        return True if self.control is None else self.control.sync(counts, claim)

    def adopt_epoch(self, epoch: str) -> None:
        """Another server reset the tenant: its state there is the new epoch's, on that epoch's day (the state is
        shared; this server only rebuilds its view, with that day's inventory)."""
        with self._reset_lock:
            self.epoch = epoch
            self.anchor_sec = redis_store.anchor_of(epoch)
            self.bookings = self._fresh_service(self.anchor_sec)

    def reset(self, clear_recordings: bool = False) -> None:
        """Back to the start state: clock and fidelity settings as configured, fixtures re-anchored to its today, no
        bookings.

        Each reset hook is called with `clear_recordings` (the recorder empties its journal when it is True).

        With persistence, the empty state is on disk before anything changes in memory: a reset the
        store could not keep raises StoreFailed and leaves everything as it was.
        """
        # Served, the policy is the GC's: no collections meanwhile, then the previous state collected and the
        # new one frozen (see process).
        # A shared store: the clock's and the rules' changes below are published once, at the end (the control's
        # lock is taken before the reset lock, in the order a load from another server's reset takes them).
        deferring = self.control.deferring() if self.control is not None else nullcontext()
        with deferring, self._reset_lock, self.state_policy():
            anchor = self.settings.clock if self.settings.clock is not None else int(time.time())
            previous = self.epoch
            if self.shared_store is not None:
                self.epoch = redis_store.new_epoch(anchor)
            try:
                fresh = self._fresh_service(anchor)
                self._replace_state(fresh, anchor)
            except BaseException:
                self.epoch = previous  # the store refused the reset: nothing changed
                raise
            self.clock.restart(frozen_at=self.settings.clock)
            self.fidelity.restart()  # a reset is back to MOCK_STRICT and MOCK_RESPONSE_PROFILE too
            self.rng = random.Random(self.seed)
            self.anchor_sec = anchor
            for hook in self.reset_hooks:
                hook(clear_recordings)

    def restore(self, restored: Restored, engine: FaultEngine) -> None:
        """Replace the tenant's state with a saved one (PUT /_admin/state; storage/snapshot.py checked it), whole:
        bookings, tokens, sequence and preferences, on the document's anchor day, then its clock, fault rules and
        fidelity settings.

        As in a reset, the store takes the new state first (a shared store's in one transaction with the clock and
        rules, persistence's as the next generation's snapshot), or StoreFailed and nothing changed.
        """
        # A shared store: the control's lock is held throughout, so no load from another server interleaves.
        deferring = self.control.deferring() if self.control is not None else nullcontext()
        with deferring, self._reset_lock, self.state_policy():
            anchor = restored.anchor_sec
            previous = self.epoch
            if self.shared_store is not None:
                self.epoch = redis_store.new_epoch(anchor)
                fresh = self._fresh_service(anchor)
            else:
                fresh = self._wired(restored.service)
                if self.persistence is not None:
                    fresh.listener = self.persistence
            try:
                self._replace_state(fresh, anchor, restored)
            except BaseException:
                self.epoch = previous  # the store refused the restore: nothing changed
                raise
            self.anchor_sec = anchor
            # Loads, not changes: nothing is published (a shared store has them from the transaction already).
            self.clock.load(restored.clock)
            engine.load(restored.rules)
            self.fidelity.load(restored.settings)

    def _replace_state(self, fresh: BookingService, anchor: int, restored: Restored | None = None) -> None:
        """The tenant's state becomes `fresh`: empty (a reset), or a restored document's."""
        old = self.bookings
        if self.shared_store is not None:
            # Every process serving the tenant sees the new state, and the new epoch, at once.
            if restored is None:
                _, generation = redis_store.reset_tenant(*self.shared_store, self.epoch)
            else:
                generation = redis_store.restore_tenant(
                    *self.shared_store, self.epoch, restored.state, restored.control(), restored.fired()
                )
            if self.control is not None:
                self.control.expect(generation)
        with old.lock:
            if self.persistence is not None:
                # The next generation's snapshot lands first (or StoreFailed, and nothing changes).
                content = fresh.state.content()
                self.persistence.write_snapshot(
                    self._meta(fresh, anchor),
                    content.bookings,
                    content.tokens,
                    generation=self.persistence.generation + 1,
                    preferences=content.preferences,
                    waitlist=content.waitlist,
                    waitlist_tokens=content.waitlist_tokens,
                )
            # A request that waited for the old state's lock may still commit there: detach it from
            # persistence so it cannot write into the new generation.
            old.listener = BookingListener()
            self.bookings = fresh

    def snapshot(self) -> None:
        """Fold the log into the snapshot (persistence only)."""
        if self.persistence is None:
            return
        service = self.bookings
        with service.lock:
            content = service.state.content()  # one read of the whole state
            self.persistence.write_snapshot(
                self._meta(service, self.anchor_sec),
                content.bookings,
                content.tokens,
                preferences=content.preferences,
                waitlist=content.waitlist,
                waitlist_tokens=content.waitlist_tokens,
            )

    def _meta(self, service: BookingService, anchor: int) -> dict:
        return {
            "anchor_sec": anchor,
            "seed": self.settings.seed,
            "fixture": str(self.fixture_path),
            "next_seq": service.next_seq,
        }

    def health(self) -> dict:
        """Readiness and sizes."""
        return {
            "status": "ready",
            **({} if self.tenant == DEFAULT_TENANT else {"tenant": self.tenant}),
            "seed": self.seed,
            "fixture": str(self.fixture_path),
            "persistent": self.persistence is not None,
            "state": "memory" if self.shared_store is None else "redis",
            "anchor_sec": self.anchor_sec,
            "counts": {**self.bookings.inventory.counts(), **self.bookings.counts()},
            "clock": self.clock.state(),
            **({"store": self.persistence.state()} if self.persistence is not None else {}),
            # When served, this process's log lines go through a bounded buffer: how many it dropped.
            **({"logs": {"dropped_lines": linewriter.dropped_lines()}} if linewriter.writer() is not None else {}),
            **{name: section() for name, section in self.health_sections.items()},
        }

    def _fresh_service(self, anchor: int) -> BookingService:
        inventory = fixtures.materialise(self.fixture, anchor)
        if self.shared_store is not None:
            state = redis_store.RedisState(*self.shared_store, inventory, self.epoch)
            return self._wired(BookingService(inventory, self.clock, state=state))
        return self._wired(BookingService(inventory, self.clock, listener=self.persistence))

    def _wired(self, service: BookingService) -> BookingService:
        """The service with its waitlist's moves notified when MOCK_NOTIFY_URL is set (every service a start, reset,
        restore or another server's reset builds goes through here: none misses it)."""
        if self.settings.notify_url:
            from . import notify  # notify reads the runtime when it sends

            service.waitlist.on_change = functools.partial(notify.waitlist_changed, service.waitlist)
        return service

    def _start(self) -> BookingService:
        """Build state, resuming persisted bookings (pinned to their original anchor day) if any."""
        if self.shared_store is not None:
            # The tenant's day is the one the first process to serve it chose: every process has the same inventory.
            self.epoch = redis_store.claim_epoch(*self.shared_store, self.anchor_sec)
            self.anchor_sec = redis_store.anchor_of(self.epoch)
            self.bookings = self._fresh_service(self.anchor_sec)
            return self.bookings
        persistence = self.persistence
        saved = persistence.load() if persistence is not None else None
        if saved is not None and saved["meta"].get("anchor_sec") is not None:
            self.anchor_sec = saved["meta"]["anchor_sec"]
        service = self._fresh_service(self.anchor_sec)
        if persistence is not None and saved is not None:
            try:
                bookings = [decode_booking(doc, service.inventory) for doc in saved["bookings"].values()]
                tokens = {token: decode_record(rec, service.inventory) for token, rec in saved["tokens"].items()}
                preferences = [decode_preference(doc) for doc in saved["marketing"].values()]
                entries = [decode_entry(doc) for doc in saved["waitlist"].values()]
                entry_tokens = {t: decode_waitlist_token(doc) for t, doc in saved["waitlist_tokens"].items()}
            except (KeyError, TypeError, ValueError) as exc:
                raise CorruptStore(
                    f"{persistence.path}: a stored booking or marketing preference cannot be read ({exc!r}); "
                    "refusing to start (nothing was changed on disk)"
                ) from None
            next_seq = max([saved["meta"].get("next_seq", 1)] + [_seq_of(b.booking_id) + 1 for b in bookings])
            service.restore(bookings, tokens, next_seq, preferences, entries, entry_tokens)
        self.bookings = service
        if self.persistence is not None:
            self.persistence.compactor = self.snapshot
            self.snapshot()
        return service


def _seq_of(booking_id: str) -> int:
    digits = booking_id.lstrip("B")
    return int(digits) if digits.isdigit() else 0


def get_runtime() -> Runtime:
    """The runtime of the tenant the current control-plane request is for (the default tenant's, unprefixed)."""
    from .tenancy import current_tenant

    return current_tenant().runtime
