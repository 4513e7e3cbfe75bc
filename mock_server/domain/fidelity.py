"""A tenant's fidelity settings: strict request checking and the response profile (GET/PATCH /_admin/settings)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from ..config import RESPONSE_PROFILES


class Fidelity(NamedTuple):
    """The settings one exchange is served under (taken once, when its tenant is selected)."""

    strict: bool = False
    response_profile: str = "canonical"

    def journal_form(self) -> dict[str, Any] | None:
        """What a journal line records: the settings when either differs from the built-in default, else None."""
        return None if self == BUILT_IN else {"strict": self.strict, "response_profile": self.response_profile}


BUILT_IN = Fidelity()


class SettingsError(ValueError):
    """A change that names an unknown setting or a bad value: .field names it."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class FidelitySettings:
    """One tenant's settings: MOCK_STRICT and MOCK_RESPONSE_PROFILE at start and after a reset, changed by PATCH."""

    def __init__(self, strict: bool, response_profile: str):
        self.defaults = Fidelity(strict, response_profile)
        self.current = self.defaults  # swapped whole: a reader takes one consistent pair without a lock
        self._lock = threading.Lock()
        # Told after every change (a shared store publishes it to the other servers); None: nobody.
        self.on_change: Callable[[], None] | None = None

    def state(self) -> dict[str, Any]:
        """What GET /_admin/settings answers."""
        return {"strict": self.current.strict, "response_profile": self.current.response_profile}

    def change(self, changes: dict[str, Any]) -> None:
        """Apply a PATCH: only the settings it names; SettingsError (nothing changed) for a bad one."""
        for name, value in changes.items():
            if name == "strict":
                if type(value) is not bool:
                    raise SettingsError(name, "must be a JSON boolean: true or false")
            elif name == "response_profile":
                if value not in RESPONSE_PROFILES:
                    raise SettingsError(name, f"must be one of {', '.join(RESPONSE_PROFILES)}")
            else:
                raise SettingsError(name, "unknown setting (settings: strict, response_profile)")
        with self._lock:
            self.current = self.current._replace(**changes)
        self._changed()

    def restart(self) -> None:
        """Back to the defaults (a tenant reset)."""
        with self._lock:
            self.current = self.defaults
        self._changed()

    def export(self) -> dict[str, Any]:
        """What another server needs to serve the same settings (a shared store's copy)."""
        return self.state()

    def load(self, exported: dict[str, Any] | None) -> None:
        """Take on another server's settings (None: none stored, the defaults); nobody is told."""
        with self._lock:
            self.current = self.defaults if exported is None else Fidelity(**exported)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()
