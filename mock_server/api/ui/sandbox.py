"""Sandbox page: health, seed and fixture, settings, reset and the sandbox clock."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import request

from ...recording import STATE_KEY as RECORDING_KEY
from ...runtime import get_runtime
from .blueprint import back, bp, extension, flash, fragment, render

UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def settings_rows(settings) -> list[tuple[str, str]]:
    """What the server runs with, secrets shown only as on/off."""
    return [
        ("Listening", f"{settings.host}:{settings.port} ({settings.server}, {settings.threads} threads)"),
        ("Seed", str(settings.seed)),
        ("Fixture", settings.fixture),
        ("Persistence (MOCK_DB_PATH)", settings.db_path or "off (in memory)"),
        ("HTTP Basic on /v3", "on" if settings.basic_auth else "off"),
        ("Admin token", "on" if settings.admin_token else "off"),
        ("Recording", "on" if settings.record else "off (MOCK_RECORD=0)"),
        ("PII redaction in recordings", "on" if settings.redact_pii else "off"),
        ("Replay", settings.replay or "off"),
        ("Start-up scenario", settings.scenario or "none"),
        ("Timeout fault hold", f"{settings.timeout_ms} ms"),
        ("Max body", f"{settings.max_body_bytes} bytes"),
    ]


def _status_context() -> dict:
    runtime = get_runtime()
    return {"health": runtime.health(), "clock": runtime.clock.state()}


@bp.route("/", methods=["GET"])
def sandbox():
    """Overview: readiness, counts, clock, settings; reset and clock controls."""
    runtime = get_runtime()
    if request.args.get("fragment") == "status":
        return fragment("ui_sandbox_status.html", **_status_context())
    state = extension(RECORDING_KEY)
    journal = state.recorder.journal if state is not None else None
    return render("ui_sandbox.html", page="sandbox", settings=settings_rows(runtime.settings),
                  journal=journal, units=list(UNITS), **_status_context())


@bp.route("/reset", methods=["POST"])
def reset():
    """Back to the fixture state; optionally empty the exchange log too."""
    runtime = get_runtime()
    runtime.reset()
    text = "Sandbox reset: bookings forgotten, slots re-anchored, fault rules back to the start-up scenario"
    state = extension(RECORDING_KEY)
    if request.form.get("clear_recordings") and state is not None:
        state.recorder.journal.clear()
        text += ", exchange log emptied"
    flash(text + ".", "success")
    return back("dashboard.sandbox")


@bp.route("/clock", methods=["POST"])
def clock():
    """Freeze, freeze at a UTC time, advance, or unfreeze the sandbox clock."""
    clock = get_runtime().clock
    action = request.form.get("action", "")
    try:
        if action == "freeze":
            clock.freeze()
        elif action == "freeze_at":
            clock.freeze(_parse_utc(request.form.get("at", "")))
        elif action == "advance":
            amount_text = request.form.get("amount", "").strip()
            if not amount_text.lstrip("-").isdigit():
                raise ValueError("the amount must be a whole number (negative goes back)")
            amount = int(amount_text)
            unit = UNITS.get(request.form.get("unit", "seconds"))
            if unit is None or abs(amount * unit) > 2**40:
                raise ValueError("the amount is out of range")
            clock.advance(amount * unit)
        elif action == "unfreeze":
            clock.unfreeze()
        else:
            raise ValueError(f"unknown clock action {action!r}")
    except ValueError as exc:
        flash(f"Clock unchanged: {exc}", "error")
        return back("dashboard.sandbox")
    state = clock.state()
    flash(f"Clock {'frozen' if state['frozen'] else 'running'} at "
          f"{datetime.fromtimestamp(state['now_sec'], timezone.utc):%Y-%m-%d %H:%M:%S} UTC.", "success")
    return back("dashboard.sandbox")


def _parse_utc(text: str) -> int:
    """A datetime-local value (taken as UTC) or epoch seconds."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("give a date and time (YYYY-MM-DDTHH:MM, UTC) or epoch seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())
