"""/_admin/recordings: the journal of /v3 exchanges and markers. Never faulted, never recorded."""

from __future__ import annotations

import orjson
from flask import Response, request
from flask_smorest import abort

from ...recording import get_state, har, lines
from .. import auth
from ..common import json_response
from . import schemas

blp = auth.admin_blueprint(
    "Recordings",
    __name__,
    "/_admin/recordings",
    "Journal of every /v3 exchange (one JSON line each): list, fetch, clear, export as JSONL or HAR 1.2.",
)


@blp.route("", methods=["GET"])
@blp.arguments(schemas.RecordingFilterSchema, location="query")
@blp.response(
    200,
    schemas.ExchangeListSchema,
    description="Exchanges, newest first, from the in-memory index (the file has them all)",
)
def list_exchanges(query):
    """Recorded exchanges, newest first; filter by method, status, booking_id, since; page with limit/offset
    or the `before` cursor."""
    state = get_state()
    journal = state.recorder.journal
    journal.flush()  # so the file this names holds every exchange listed (it is written in batches)
    matching = [e for e in journal.newest() if _matches(e, query)]
    page = matching[query["offset"] : query["offset"] + query["limit"]]
    more = len(matching) > query["offset"] + len(page)
    body = {
        "enabled": state.recorder.enabled,
        "journal": journal.name,
        "recorded": journal.recorded,
        "indexed": journal.indexed,
        "matched": len(matching),
        "count": len(page),
        "next_before": page[-1].seq if page and more else None,
        # The stored lines go out as they are, no re-encoding (cheaper); one with a body nested deeper
        # than readers take goes out with that body as its text.
        "exchanges": [lines.encodable(e.line) for e in page],
    }
    if state.book is not None:
        body["replay"] = state.book.status()
    return json_response(body)


@blp.route("/<int:seq>", methods=["GET"])
@blp.response(200, schemas.ExchangeSchema, description="One exchange")
def get_exchange(seq):
    """One recorded exchange by its seq number (404 when unknown)."""
    record = get_state().recorder.journal.get(seq)  # a torn or too-deep line comes back readable
    if record is None:
        abort(404, message=f"no recorded exchange with seq {seq}")
    return json_response(record)


@blp.route("", methods=["DELETE"])
@blp.response(200, schemas.ClearedSchema, description="The journal is empty")
def clear_exchanges():
    """Empty the journal file and its index; numbering starts again at 1."""
    journal = get_state().recorder.journal
    cleared = journal.recorded
    journal.clear()
    return json_response({"cleared": cleared, "journal": journal.name})


@blp.route("/export", methods=["GET"])
@blp.arguments(schemas.ExportSchema, location="query")
@blp.response(200, description="The whole journal as JSONL (`application/x-ndjson`) or HAR 1.2")
def export(query):
    """Download the whole journal (the file, not just the index): JSONL, or HAR 1.2 for devtools."""
    journal = get_state().recorder.journal
    stem = journal.path.stem
    if query["format"] == "jsonl":
        chunks = (line + b"\n" for line in journal.lines())
        return Response(
            chunks,
            mimetype="application/x-ndjson",
            headers={"Content-Disposition": f'attachment; filename="{stem}.jsonl"'},
        )
    return Response(
        har.export(journal.lines(), request.host_url),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{stem}.har"'},
    )


@blp.route("/replay", methods=["GET"])
@blp.response(200, schemas.ReplayStatusSchema, description="Replay progress")
def replay_status():
    """In replay mode (MOCK_REPLAY): exchanges played, misses, and the ones not played yet."""
    book = get_state().book
    if book is None:
        abort(404, message="not in replay mode: start with MOCK_REPLAY=<recording.jsonl>")
    return json_response(book.status())


def _matches(entry, query) -> bool:
    method = query.get("method")
    if method is not None and entry.rpc.lower() != method.lower():
        return False
    if "status" in query and entry.status != query["status"]:
        return False
    if "before" in query and entry.seq >= query["before"]:
        return False
    since = query.get("since")
    if since is not None:
        kind, value = since
        if (kind == "seq" and entry.seq <= value) or (kind == "epoch" and entry.epoch < value):
            return False
    booking_id = query.get("booking_id")
    # The id as a JSON string anywhere in the line: request or response, any field.
    return booking_id is None or orjson.dumps(booking_id) in entry.line
