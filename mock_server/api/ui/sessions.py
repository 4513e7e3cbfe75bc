"""Dashboard sessions kept on the server: a random id in the cookie; expiry and sign-out decided here."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time

from flask import current_app

EXTENSION_KEY = "mock_server.ui_sessions"
SESSION_SECONDS = 12 * 3600
MAX_SESSIONS = 1000  # sign-ins beyond this push out the oldest session: the store never grows without bound


def wall_clock() -> float:
    """Real time, never the sandbox clock (tests move that one by days)."""
    return time.time()


class SessionStore:
    """One app's signed-in sessions: digest of the cookie's id -> (the wall-clock second it expires, its tenant).

    A session opens the dashboard of the tenant it was signed in on, and no other: its cookie is scoped to that
    tenant's path too, but a copy sent to another path must open nothing there either.
    """

    def __init__(self) -> None:
        self._expiry: dict[bytes, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._expiry)

    def open(self, tenant: str) -> str:
        """A new session id for `tenant`'s dashboard, valid for SESSION_SECONDS."""
        session_id = secrets.token_urlsafe(32)
        now = wall_clock()
        with self._lock:
            self._drop_expired(now)
            while len(self._expiry) >= MAX_SESSIONS:
                del self._expiry[next(iter(self._expiry))]  # insertion order: the oldest first
            self._expiry[_key(session_id)] = (now + SESSION_SECONDS, tenant)
        return session_id

    def valid(self, session_id: str, tenant: str) -> bool:
        """True while the session is open, unexpired and `tenant`'s (an expired one is forgotten)."""
        if not session_id:
            return False
        key = _key(session_id)
        with self._lock:
            found = self._expiry.get(key)
            if found is not None and found[0] <= wall_clock():
                del self._expiry[key]
                found = None
        return found is not None and found[1] == tenant

    def close(self, session_id: str) -> None:
        """Sign out: the id opens nothing from now on, whoever holds a copy of the cookie."""
        with self._lock:
            self._expiry.pop(_key(session_id), None)

    def _drop_expired(self, now: float) -> None:
        for key in [k for k, (expires, _) in self._expiry.items() if expires <= now]:
            del self._expiry[key]


def store() -> SessionStore:
    """The current app's store (per app, so two sandboxes in one process never share sessions)."""
    found = current_app.extensions.get(EXTENSION_KEY)
    return found if found is not None else current_app.extensions.setdefault(EXTENSION_KEY, SessionStore())


def _key(session_id: str) -> bytes:
    # Looked up by digest: a dict lookup on the raw id would leak its prefix through timing.
    return hashlib.sha256(session_id.encode()).digest()
