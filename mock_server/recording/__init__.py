"""Exchange recording and replay (issue 4): journal every /v3 exchange, export it, replay it."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from ..config import resolve_path
from ..runtime import EXTENSION_KEY
from .capture import Recorder
from .replay_mock import ReplayBook

STATE_KEY = "mock_server.recording"


@dataclass
class RecordingState:
    """The per-app recorder and, in replay mode, the book of recorded answers."""

    recorder: Recorder
    book: ReplayBook | None = None


def install(app: Flask, api) -> RecordingState:
    """Make the default tenant's recorder (and replay book) and register the admin routes."""
    from ..api.recordings import blp

    state = state_for(app.extensions[EXTENSION_KEY])
    app.extensions[STATE_KEY] = state
    api.register_blueprint(blp)
    return state


def state_for(runtime) -> RecordingState:
    """A tenant's recorder (its own journal) and, in replay mode, its own book of the recording."""
    settings = runtime.settings
    state = RecordingState(Recorder(settings, runtime.clock, tenant=runtime.tenant))
    if runtime.shared_store is not None:
        # Every server's exchanges in one stream, in order; this server's file keeps what it served.
        from ..storage.redis_journal import SharedJournal

        client, keys = runtime.shared_store
        journal = state.recorder.journal
        shared = SharedJournal(journal, client, keys, journal.index_size, journal.index_bytes)
        journal.index_size = 0  # the stream is what readers read: this server's file needs no index of its own
        state.recorder.journal = shared  # type: ignore[assignment]
    if settings.replay:
        path = resolve_path(settings.replay)
        if not path.is_file():
            raise SystemExit(f"MOCK_REPLAY: no such recording: {settings.replay}")
        state.book = ReplayBook.load(path, settings.replay_ignore)
    runtime.reset_hooks.append(lambda clear_recordings: _on_reset(state, clear_recordings))
    if state.recorder.enabled:
        runtime.health_sections["recording"] = state.recorder.journal.state
    return state


def get_state() -> RecordingState:
    """The recording state of the tenant the current control-plane request is for."""
    from ..tenancy import current_tenant

    return current_tenant().recording


def _on_reset(state: RecordingState, clear_recordings: bool) -> None:
    """A reset rewinds the replay; it keeps recordings unless asked ({"recordings": true} in the reset's body)."""
    if state.book is not None:
        state.book.rewind()
    if clear_recordings:
        state.recorder.journal.clear()
