"""Sandbox page: health, seed and fixture, settings, fidelity settings, reset and the sandbox clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import request

from ...config import RESPONSE_PROFILES
from ...domain.clock import EARLIEST_SEC, LATEST_SEC
from ...domain.fidelity import SettingsError
from ...recording import STATE_KEY as RECORDING_KEY
from ...recording import markers
from ...runtime import get_runtime
from . import timefmt
from .blueprint import back, bp, extension, flash, fragment, render

UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
# ASCII digits only (str.isdigit() also takes '²' and other scripts' digits); 30 is past any bound the clock
# takes, so a longer number is refused before int() (which refuses more than 4,300 digits).
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,30}")


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
    return render(
        "ui_sandbox.html",
        page="sandbox",
        settings=settings_rows(runtime.settings),
        journal=journal,
        units=list(UNITS),
        fidelity=runtime.fidelity.current,
        profiles=RESPONSE_PROFILES,
        **_status_context(),
    )


@bp.route("/reset", methods=["POST"])
def reset():
    """Back to the fixture state; optionally empty the exchange log too."""
    runtime = get_runtime()
    clear = bool(request.form.get("clear_recordings"))
    runtime.reset(clear_recordings=clear)
    markers.mark(markers.RESET, markers.reset_detail(runtime, clear), "dashboard")
    text = (
        "Sandbox reset: bookings forgotten, slots re-anchored, fault rules back to the start-up scenario, "
        "settings as configured"
    )
    state = extension(RECORDING_KEY)
    if clear and state is not None:
        text += ", exchange log emptied"
    flash(text + ".", "success")
    return back("dashboard.sandbox")


@bp.route("/fidelity", methods=["POST"])
def fidelity():
    """Strict mode and the response profile of this tenant, as PATCH /_admin/settings changes them."""
    settings = get_runtime().fidelity
    try:
        settings.change(
            {"strict": bool(request.form.get("strict")), "response_profile": request.form.get("response_profile", "")}
        )
    except SettingsError as exc:
        flash(f"Settings unchanged: {exc.field} {exc.message}.", "error")
        return back("dashboard.sandbox")
    markers.mark(markers.SETTINGS, {"settings": settings.state()}, "dashboard")
    now = settings.current
    flash(f"Strict mode {'on' if now.strict else 'off'}, response profile {now.response_profile}.", "success")
    return back("dashboard.sandbox")


@bp.route("/clock", methods=["POST"])
def clock():
    """Freeze, freeze at a UTC time, advance, or unfreeze the sandbox clock (the clock's own range applies)."""
    clock = get_runtime().clock
    action = request.form.get("action", "")
    try:
        # `change`: the POST /_admin/clock body that does the same, for the marker.
        if action == "freeze":
            clock.freeze()
            change: dict = {"freeze": True}
        elif action == "freeze_at":
            change = {"freeze_at_sec": _parse_utc(request.form.get("at", ""))}
            clock.freeze(change["freeze_at_sec"])
        elif action == "advance":
            amount_text = request.form.get("amount", "").strip()
            if not WHOLE_NUMBER.fullmatch(amount_text):
                raise ValueError("the amount must be a whole number (negative goes back)")
            unit = UNITS.get(request.form.get("unit", "seconds"))
            if unit is None:
                raise ValueError(f"the unit must be one of {', '.join(UNITS)}")
            change = {"advance_sec": int(amount_text) * unit}
            clock.advance(change["advance_sec"])
        elif action == "unfreeze":
            clock.unfreeze()
            change = {}
        else:
            raise ValueError(f"unknown clock action {action!r}")
    except ValueError as exc:  # ClockRangeError too: the same bound as POST /_admin/clock
        flash(f"Clock unchanged: {exc}", "error")
        return back("dashboard.sandbox")
    state = clock.state()
    markers.mark(markers.CLOCK, {"clock": state, "change": change}, "dashboard")
    get_runtime().bookings.waitlist.notify_moves()  # the waitlist moves the clock made, notified once
    flash(f"Clock {'frozen' if state['frozen'] else 'running'} at {timefmt.utc(state['now_sec'])}.", "success")
    return back("dashboard.sandbox")


def _parse_utc(text: str) -> int:
    """A datetime-local value (taken as UTC) or epoch seconds."""
    text = text.strip()
    if WHOLE_NUMBER.fullmatch(text):
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())
    except (ValueError, OverflowError, OSError):
        raise ValueError(
            f"give a date and time (YYYY-MM-DDTHH:MM, UTC) or epoch seconds ({EARLIEST_SEC} to {LATEST_SEC})"
        ) from None


@bp.route("/tenant", methods=["GET"])
def open_tenant():
    """The switcher's "Open tenant": that tenant's dashboard (created on first use, like any /t/{tenant}/ path)."""
    from flask import redirect

    from ...tenancy import NAME

    name = request.args.get("name", "").strip()
    if not NAME.fullmatch(name):
        flash(f"Not a tenant name: {name!r} (lower-case letters, digits, '.', '_', '-'; up to 63)", "error")
        return back("dashboard.sandbox")
    return redirect(("" if name == "default" else f"/t/{name}") + "/_admin/ui/", 303)
