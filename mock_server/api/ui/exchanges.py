"""Exchanges page: the live log of recent /v3 exchanges, filters, details, export and clear."""

from __future__ import annotations

from urllib.parse import urlencode

import orjson
from flask import Response, abort, request

from ...faults.rules import METHODS
from ...recording import STATE_KEY as RECORDING_KEY
from ...recording import har, markers
from ...recording.lines import record_of
from .blueprint import back, bp, extension, flash, fragment, render

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_FAR = 10**18  # any number with more digits reads as this: beyond every seq, limit and status


def _state():
    state = extension(RECORDING_KEY)
    if state is None:
        abort(404, description="exchange recording is not installed in this server")
    return state


def read_filters(args) -> tuple[dict, list[str]]:
    """Filters from the query string, and what was wrong with them (ignored, never a 400)."""
    filters, problems = {}, []
    method = args.get("method", "").strip()
    if method:
        filters["method"] = method
    status = args.get("status", "").strip()
    if status:
        number = whole_number(status)
        if number is not None and 100 <= number <= 599:
            filters["status"] = number
        else:
            problems.append(f"status {status!r} ignored: give an HTTP status such as 200 or 503")
    booking_id = args.get("booking_id", "").strip()
    if booking_id:
        filters["booking_id"] = booking_id
    for flag in ("faulted", "warned"):
        if args.get(flag):
            filters[flag] = True
    limit = args.get("limit", "").strip()
    number = whole_number(limit) if limit else DEFAULT_LIMIT
    if not number:
        problems.append(f"limit {limit!r} ignored: give a number from 1 to {MAX_LIMIT}")
    filters["limit"] = min(number, MAX_LIMIT) if number else DEFAULT_LIMIT
    return filters, problems


def whole_number(text: str) -> int | None:
    """ASCII digits as an int (more than 18 of them: _FAR); None for anything else.

    str.isdigit alone takes "²" and "١٢٣", which int() refuses, and int() refuses over 4,300 digits.
    """
    if not (text.isascii() and text.isdigit()):
        return None
    digits = text.lstrip("0") or "0"
    return int(digits) if len(digits) <= 18 else _FAR


def _matches(entry, filters: dict) -> bool:
    if "method" in filters and entry.rpc.lower() != filters["method"].lower():
        return False
    if "status" in filters and entry.status != filters["status"]:
        return False
    # The recorder writes these keys compactly (orjson), so a byte test saves parsing every line.
    if filters.get("faulted") and b'"faults":[{' not in entry.line:
        return False
    if filters.get("warned") and b'"warnings":["' not in entry.line:
        return False
    return "booking_id" not in filters or orjson.dumps(filters["booking_id"]) in entry.line


def select(journal, filters: dict, after: int = 0) -> tuple[list[dict], int]:
    """Matching exchanges newer than `after`, newest first, at most `limit`; and the newest seq seen."""
    last = 0
    picked: list[dict] = []
    for entry in journal.newest():  # read lazily: a poll stops at the first exchange it has already shown
        last = last or entry.seq
        if entry.seq <= after or len(picked) >= filters["limit"]:
            break
        if _matches(entry, filters):
            record = record_of(entry.line)  # a body too deep for the page comes as its text
            if record is not None:
                picked.append(describe(record))
    return picked, last


def describe(record: dict) -> dict:
    """The record plus what the summary line shows: the outcome in a few words (a marker's: what changed)."""
    if markers.is_marker(record):
        return {**record, "outcome": markers.summary(record)}
    if record.get("kind") == "notification":  # a request the sandbox sent: its line says how the attempt went
        return {**record, "outcome": f"attempt {record.get('attempt')}: {record.get('outcome', '')}"}
    response = record.get("response")
    body = response.get("body") if response else None
    outcome = ""
    if response is None:
        outcome = f"no response ({record.get('no_response') or 'dropped'})"
    elif isinstance(body, dict):
        failure = body.get("booking_failure")
        booking = body.get("booking")
        if isinstance(failure, dict):
            outcome = f"booking_failure {failure.get('cause', '')}"
        elif isinstance(booking, dict):
            outcome = f"{booking.get('booking_id', '')} {booking.get('status', '')}".strip()
        elif "booking_status" in body:
            outcome = f"{body.get('booking_id', '')} {body['booking_status']}"
        elif "message" in body and response.get("status", 200) >= 400:
            outcome = str(body["message"])[:120]
        elif isinstance(body.get("slot_time_availability"), list):
            slots = body["slot_time_availability"]
            outcome = f"{sum(1 for s in slots if s.get('available'))}/{len(slots)} available"
        elif isinstance(body.get("bookings"), list):
            outcome = f"{len(body['bookings'])} bookings"
    elif isinstance(body, str):
        outcome = "body is not JSON"
    elif response.get("status") == 200 and body is None and record.get("rpc") != "HealthCheck":
        outcome = "empty body"
    return {**record, "outcome": outcome}


@bp.route("/exchanges", methods=["GET"])
def exchanges():
    """The log, newest first, with filters; JS keeps it live."""
    state = _state()
    filters, problems = read_filters(request.args)
    records, last = select(state.recorder.journal, filters)
    return render(
        "ui_exchanges.html",
        page="exchanges",
        records=records,
        last_seq=last,
        filters=filters,
        problems=problems,
        methods=METHODS,
        recorder=state.recorder,
        feed_query=_feed_query(filters),
    )


@bp.route("/exchanges/feed", methods=["GET"])
def exchanges_feed():
    """New exchanges since `after`, as HTML ready to insert (one template renders both)."""
    state = _state()
    filters, _ = read_filters(request.args)
    after = whole_number(request.args.get("after", "0").strip()) or 0
    journal = state.recorder.journal
    restarted = journal.recorded < after  # emptied meanwhile: numbering started again
    records, last = select(journal, filters, 0 if restarted else after)
    html = fragment("ui_exchange_list.html", records=records) if records else ""
    return {"html": html, "count": len(records), "last_seq": last, "recorded": journal.recorded, "reset": restarted}


@bp.route("/exchanges/export", methods=["GET"])
def export_exchanges():
    """The whole journal file as JSONL or HAR 1.2 (the same output as /_admin/recordings/export)."""
    journal = _state().recorder.journal
    fmt = request.args.get("format", "jsonl")
    stem = journal.path.stem
    if fmt == "jsonl":
        return Response(
            (line + b"\n" for line in journal.lines()),
            mimetype="application/x-ndjson",
            headers={"Content-Disposition": f'attachment; filename="{stem}.jsonl"'},
        )
    if fmt == "har":
        return Response(
            har.export(journal.lines(), request.host_url),
            mimetype="application/json",
            headers={"Content-Disposition": f'attachment; filename="{stem}.har"'},
        )
    abort(400, description="format must be jsonl or har")


@bp.route("/exchanges/clear", methods=["POST"])
def clear_exchanges():
    """Empty the journal."""
    journal = _state().recorder.journal
    cleared = journal.recorded
    journal.clear()
    flash(f"Exchange log emptied ({cleared} exchange{'s' if cleared != 1 else ''}).", "success")
    return back("dashboard.exchanges")


def _feed_query(filters: dict) -> str:
    """The filters again, for the script's polling URL."""
    pairs = {k: ("1" if v is True else v) for k, v in filters.items()}
    return urlencode(pairs)
