"""The cyclic garbage collector around large long-lived state: pauses that stay short as the state grows.

A full collection walks every container object the collector tracks; at a million slots and 100k
bookings that was a 0.7 s stop of every request. Three things keep it short:

- `building()`: no automatic collection while a fixture is read and materialised (each one would walk
  the half-built inventory again: seconds of start-up at 1M slots);
- `settle()`: once built, the state is frozen (`gc.freeze`), so collections skip it;
- `PauseGuard`: in the serving process, a full collection that took longer than its budget freezes
  what survived it, so the next one only walks what came since (bookings, mostly).

Frozen objects are still freed by reference counting; only garbage in reference cycles among them is
never reclaimed. The fast path makes none; Flask requests in flight at a freeze may leave a few.
A reset unfreezes and collects everything (`settle`), which reclaims those too.

Tuned to the generational collector of CPython 3.11-3.13 (the image runs 3.11). Python 3.14's
incremental collector never reports a generation-2 pass and ignores the third threshold: there the
guard does nothing, and the pauses are the incremental collector's own.
"""

from __future__ import annotations

import gc
import time
from contextlib import contextmanager

PAUSE_BUDGET_MS = 5.0
FULL_EVERY = 1  # middle-generation collections between two full ones (CPython's default is 10)


@contextmanager
def building():
    """No automatic collections inside the block (restored after, even if it raises)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def settle() -> None:
    """Collect all garbage, then freeze everything alive, so later collections skip it."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    # With nothing unfrozen, this collection is instant. It resets the collector's count of long-lived
    # objects, which otherwise still holds the whole state: the first full collection would then wait
    # until a quarter of that had been allocated again, and walk all of it at once.
    gc.collect()


class PauseGuard:
    """A gc callback: after a full collection that took longer than the budget, freeze its survivors."""

    def __init__(self, budget_ms: float = PAUSE_BUDGET_MS):
        self.budget_s = budget_ms / 1000
        self.freezes = 0
        self._started = 0.0
        self._thresholds = gc.get_threshold()

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif info["generation"] == 2 and time.perf_counter() - self._started > self.budget_s:
            # Right after a full collection, so the garbage is gone: what is frozen is alive.
            gc.freeze()
            self.freezes += 1

    def install(self) -> PauseGuard:
        """Watch every collection of this process, and let full ones come after every middle one."""
        if self not in gc.callbacks:
            gc.callbacks.append(self)
            self._thresholds = gc.get_threshold()
            # By default a full collection comes after 10 middle ones (~70k surviving objects: ~40 ms to
            # walk, when bookings pile up). Ten times as often, each walks a tenth, and the guard freezes
            # what it walked once that is slow. (CPython still skips one unless the objects that survived
            # since the last are a quarter of those it found then.)
            young, middle, _ = self._thresholds
            gc.set_threshold(young, middle, FULL_EVERY)
        return self

    def uninstall(self) -> None:
        """Stop watching; the collector's thresholds are as they were before install()."""
        if self in gc.callbacks:
            gc.callbacks.remove(self)
            gc.set_threshold(*self._thresholds)
