"""The sandbox clock: real time, optionally frozen or shifted, so runs can be exact."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypedDict

# The clock's range, enforced on every change. 2**40 s is the year 36812: far enough for any test, and small
# enough that every consumer (int64 in JSON, floats, the journal) stays exact. Dates past the year 9999 have
# no calendar form in Python; pages that show one say so instead.
EARLIEST_SEC = 0
LATEST_SEC = 2**40


class ClockRangeError(ValueError):
    """A clock change that would leave [EARLIEST_SEC, LATEST_SEC]; nothing changed."""


def check_range(sec: int, what: str = "the sandbox clock") -> int:
    """`sec` when it is inside the clock's range; ClockRangeError naming the bounds otherwise."""
    if not EARLIEST_SEC <= sec <= LATEST_SEC:
        raise ClockRangeError(
            f"{what} must stay between {EARLIEST_SEC} and {LATEST_SEC} epoch seconds "
            f"(2^40, the year 36812); {sec} is outside"
        )
    return sec


class ClockState(TypedDict):
    """What the admin API and the dashboard show of the clock."""

    now_sec: int
    frozen: bool
    offset_sec: int


class SandboxClock:
    """Epoch-second clock that QA can freeze, unfreeze and advance."""

    def __init__(self, frozen_at: int | None = None, wall: Callable[[], float] = time.time):
        self._wall = wall
        self._lock = threading.Lock()
        self._frozen_at = None if frozen_at is None else check_range(int(frozen_at))
        self._offset = 0
        # Told after every change (a shared store publishes it to the other servers); None: nobody.
        self.on_change: Callable[[], None] | None = None

    def now(self) -> int:
        """Current sandbox time in whole epoch seconds."""
        frozen = self._frozen_at
        if frozen is not None:
            return frozen
        return int(self._wall()) + self._offset

    @property
    def frozen(self) -> bool:
        """True while time stands still."""
        return self._frozen_at is not None

    @property
    def offset(self) -> int:
        """Seconds the running clock is ahead of the wall clock."""
        return self._offset

    def restart(self, frozen_at: int | None = None) -> None:
        """Back to the state it was built in: wall time with no offset, or frozen at `frozen_at`."""
        frozen_at = None if frozen_at is None else check_range(int(frozen_at))
        with self._lock:
            self._frozen_at = frozen_at
            self._offset = 0
        self._changed()

    def freeze(self, at: int | None = None) -> None:
        """Stop time, at `at` or at the current sandbox time; ClockRangeError (nothing changed) out of range."""
        with self._lock:
            self._frozen_at = self.now() if at is None else check_range(int(at))
        self._changed()

    def unfreeze(self) -> None:
        """Let time run again from where it stands (the offset keeps it continuous)."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - int(self._wall())
                self._frozen_at = None
        self._changed()

    def advance(self, seconds: int) -> None:
        """Move time forward (or back, with a negative number); ClockRangeError (nothing changed) out of range."""
        with self._lock:
            check_range(self.now() + int(seconds))
            if self._frozen_at is not None:
                self._frozen_at += int(seconds)
            else:
                self._offset += int(seconds)
        self._changed()

    def export(self) -> dict[str, int | None]:
        """What another process needs to run the same clock (a shared store's copy)."""
        return {"frozen_at": self._frozen_at, "offset": self._offset}

    def load(self, exported: dict[str, int | None]) -> None:
        """Take on another process's clock (its `export()`); not a change of this one's, so nobody is told."""
        with self._lock:
            self._frozen_at = exported["frozen_at"]
            self._offset = int(exported["offset"] or 0)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def state(self) -> ClockState:
        """A plain description for the admin API."""
        return {"now_sec": self.now(), "frozen": self.frozen, "offset_sec": self._offset}
