"""Decide-and-commit retries: the one loop every change to a tenant's state goes through."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TypeVar

from .errors import StoreFailed

# A shared store refuses a change another process got to first; the rules then decide again. Each try reads
# what the winner left, so a second refusal needs a second winner: many in a row mean a store that cannot keep up.
ATTEMPTS = 50
T = TypeVar("T")


def until_committed(lock: AbstractContextManager[object], decide: Callable[[], T | None]) -> T:
    """Read, decide and commit under the state's lock; again while the store refuses the change (`decide` None)."""
    for _ in range(ATTEMPTS):
        with lock:
            outcome = decide()
        if outcome is not None:
            return outcome
    raise StoreFailed(f"the change lost to others {ATTEMPTS} times in a row; nothing was changed, try again")
