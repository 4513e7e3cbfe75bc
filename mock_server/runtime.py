"""Per-app container of all state: settings, clock, RNG, fixtures, bookings and persistence."""

from __future__ import annotations

import base64
import random
import threading

from flask import current_app

from . import heap
from .config import Settings, resolve_path
from .domain.bookings import BookingListener, BookingService, IdempotencyRecord
from .domain.clock import SandboxClock
from .storage import fixtures
from .storage.persistence import Persistence, decode_booking

EXTENSION_KEY = "mock_server"


class Runtime:
    """Everything one sandbox instance knows; tests build one per app, so nothing leaks."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.clock = SandboxClock(frozen_at=settings.clock)
        self.rng = random.Random(settings.seed)
        # Precomputed so each request costs one constant-time compare of the whole header.
        self.basic_auth_header = (
            "Basic " + base64.b64encode(settings.basic_auth.encode()).decode() if settings.basic_auth else None
        )
        self.fixture_path = resolve_path(settings.fixture)
        self.persistence = Persistence(resolve_path(settings.db_path)) if settings.db_path else None
        self._reset_lock = threading.Lock()
        # Extensions (faults, recorder) register what a reset must also clear.
        self.reset_hooks: list = []
        self.anchor_sec = self.clock.now()
        with heap.building():
            self.fixture = fixtures.read(self.fixture_path)
            self.bookings = self._start()
            # Inside the block: with collection off, the whole new state sits in the youngest generation,
            # and the first automatic collection after it would walk all of it before settle() does.
            heap.settle()

    def reset(self) -> None:
        """Back to the start state: clock as configured, fixtures re-anchored to its today, no bookings."""
        with self._reset_lock, heap.building():
            self.clock.restart(frozen_at=self.settings.clock)
            self.rng = random.Random(self.settings.seed)
            self.anchor_sec = self.clock.now()
            self._replace_state(self._fresh_service())
            self.snapshot()
            for hook in self.reset_hooks:
                hook()
            # The inventory lives until the next reset: out of the cyclic GC's sight (see heap). This
            # also collects the previous state, and anything frozen with it.
            heap.settle()

    def _replace_state(self, fresh: BookingService) -> None:
        old = self.bookings
        with old.lock:
            # A request already inside the old state may still commit there: detach it from
            # persistence so it cannot write into the new generation.
            old.listener = BookingListener()
            if self.persistence is not None:
                self.persistence.generation += 1
            self.bookings = fresh

    def snapshot(self) -> None:
        """Fold the log into the snapshot (persistence only)."""
        if self.persistence is None:
            return
        service = self.bookings
        with service.lock:
            self.persistence.write_snapshot(
                {"anchor_sec": self.anchor_sec, "seed": self.settings.seed, "fixture": str(self.fixture_path),
                 "next_seq": service.next_seq},
                service.all_bookings(), service.tokens(),
            )

    def health(self) -> dict:
        """Readiness and sizes."""
        return {
            "status": "ready", "seed": self.settings.seed, "fixture": str(self.fixture_path),
            "persistent": self.persistence is not None, "anchor_sec": self.anchor_sec,
            "counts": {**self.bookings.inventory.counts(), **self.bookings.counts()},
            "clock": self.clock.state(),
        }

    def _fresh_service(self) -> BookingService:
        inventory = fixtures.materialise(self.fixture, self.anchor_sec)
        return BookingService(inventory, self.clock, listener=self.persistence)

    def _start(self) -> BookingService:
        """Build state, resuming persisted bookings (pinned to their original anchor day) if any."""
        saved = self.persistence.load() if self.persistence else None
        if saved is not None and saved["meta"].get("anchor_sec") is not None:
            self.anchor_sec = saved["meta"]["anchor_sec"]
        service = self._fresh_service()
        if saved is not None:
            bookings = [decode_booking(doc, service.inventory) for doc in saved["bookings"].values()]
            tokens = {
                token: IdempotencyRecord(rec["fingerprint"], decode_booking(rec["booking"], service.inventory))
                for token, rec in saved["tokens"].items()
            }
            next_seq = max([saved["meta"].get("next_seq", 1)] + [_seq_of(b.booking_id) + 1 for b in bookings])
            service.restore(bookings, tokens, next_seq)
        self.bookings = service
        if self.persistence is not None:
            self.persistence.compactor = self.snapshot
            self.snapshot()
        return service


def _seq_of(booking_id: str) -> int:
    digits = booking_id.lstrip("B")
    return int(digits) if digits.isdigit() else 0


def get_runtime() -> Runtime:
    """The runtime of the current app."""
    return current_app.extensions[EXTENSION_KEY]
