"""Journal records <-> HAR 1.2: the export, streamed entry by entry (browser devtools and HAR viewers open
it), and HAR documents (that export, or a browser's) read back into records for replay.

Markers (admin actions between exchanges) are no HTTP entries: they go in the log's own `_markers` list, as their
journal records, and come back from it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Iterator
from urllib.parse import parse_qsl, urlsplit

import orjson

from .. import __version__
from ..bodyread import reason_phrase
from .capture import decode_body
from .lines import Reader
from .markers import is_marker

HTTP_VERSION = "HTTP/1.1"


def body_text(body) -> str:
    """A recorded body back to the text that travelled (JSON compact, as the sandbox writes it)."""
    if body is None:
        return ""
    if isinstance(body, str):
        return body
    return orjson.dumps(body).decode()


def _pairs(mapping: dict | None) -> list[dict]:
    return [{"name": str(name), "value": str(value)} for name, value in (mapping or {}).items()]


def _mime(headers: dict | None, default: str = "application/json") -> str:
    for name, value in (headers or {}).items():
        if name.lower() == "content-type":
            return value
    return default


def entry(record: dict, base_url: str) -> dict:
    """One HAR entry; sandbox-specific facts go in `_`-prefixed fields, as HAR allows."""
    req = record.get("request") or {}
    req_headers = req.get("headers") or {}
    host = next((v for k, v in req_headers.items() if k.lower() == "host"), None)
    origin = f"http://{host}" if host else base_url.rstrip("/")
    query = record.get("query") or ""
    # A request the sandbox sent (a notification) names where it went; a /v3 exchange came to this server.
    url = record.get("url") or origin + record.get("path", "") + (f"?{query}" if query else "")
    req_text = body_text(req.get("body"))
    request = {
        "method": record.get("method", "POST"),
        "url": url,
        "httpVersion": HTTP_VERSION,
        "headers": _pairs(req_headers),
        "queryString": [{"name": k, "value": v} for k, v in parse_qsl(query)],
        "cookies": [],
        "headersSize": -1,
        "bodySize": len(req_text.encode()),
    }
    if req_text or request["method"] != "GET":
        request["postData"] = {"mimeType": _mime(req_headers), "text": req_text}
    resp = record.get("response")
    duration = float(record.get("duration_ms") or 0)
    har = {
        "startedDateTime": record.get("ts", "1970-01-01T00:00:00.000Z"),
        "time": duration,
        "request": request,
        "response": _response(resp, record),
        "cache": {},
        "timings": {"send": 0, "wait": duration, "receive": 0},
        "_seq": record.get("seq"),
        "_rpc": record.get("rpc"),
        "_clock_sec": record.get("clock_sec"),
        "_faults": record.get("faults") or [],
        "_warnings": record.get("warnings") or [],
    }
    if record.get("pii_redacted"):
        har["_pii_redacted"] = True  # a replay of it compares pseudonyms with pseudonyms
    if resp is None:
        har["comment"] = f"no response: {record.get('no_response') or 'connection dropped'}"
    return har


def _response(resp: dict | None, record: dict) -> dict:
    if resp is None:
        # What browsers write for a request that got no answer: status 0, empty content.
        return {
            "status": 0,
            "statusText": "",
            "httpVersion": HTTP_VERSION,
            "headers": [],
            "cookies": [],
            "content": {"size": 0, "mimeType": "x-unknown", "text": ""},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
            "_error": record.get("no_response") or "connection dropped",
        }
    text = body_text(resp.get("body"))
    size = len(text.encode())
    status = int(resp.get("status", 0))
    reason = reason_phrase(status) if status else ""
    headers = resp.get("headers") or {}
    return {
        "status": status,
        "statusText": reason,
        "httpVersion": HTTP_VERSION,
        "headers": _pairs(headers),
        "cookies": [],
        "content": {"size": size, "mimeType": _mime(headers), "text": text},
        "redirectURL": next((v for k, v in headers.items() if k.lower() == "location"), ""),
        "headersSize": -1,
        "bodySize": size,
    }


def export(lines: Iterable[bytes], base_url: str) -> Iterator[bytes]:
    """A journal's lines as a HAR document: an entry per record; the log's comment counts the lines left out."""
    reader = Reader(lines)
    return stream(reader, base_url, lambda: reader.skipped("of the journal left out"))


def stream(records: Iterable[dict], base_url: str, comment: Callable[[], str] = str) -> Iterator[bytes]:
    """The HAR document in chunks: memory stays flat however long the journal is.

    Always a whole document: a record that makes no entry is left out and counted in the log's comment,
    next to what `comment()` says once the records are through.
    """
    log = {
        "version": "1.2",
        "creator": {"name": "rwg-booking-sandbox", "version": __version__},
        "pages": [],
        "entries": [],
    }
    head = orjson.dumps({"log": log})
    # Split the empty entries array open and stream the entries into it.
    opening, closing = head.split(b'"entries":[]')
    yield opening + b'"entries":['
    first, odd, marked = True, 0, []
    for record in records:
        if is_marker(record):
            marked.append(record)  # a few per session: held until the entries are through
            continue
        try:
            chunk = orjson.dumps(entry(record, base_url))
        except (AttributeError, TypeError, ValueError):  # not shaped as the recorder writes records
            odd += 1
            continue
        yield (b"" if first else b",") + chunk
        first = False
    notes = [
        note
        for note in (comment(), f"{odd} record{'s' if odd != 1 else ''} of another shape left out" if odd else "")
        if note
    ]
    comment_field = b',"comment":' + orjson.dumps("; ".join(notes)) if notes else b""
    markers_field = b',"_markers":' + orjson.dumps(marked) if marked else b""
    yield b"]" + comment_field + markers_field + closing


def records(document) -> tuple[list[dict], str]:
    """A HAR document's entries as journal records, and what was left out ('' or 'N entries ...: entry K, why').

    Raises TypeError when it is no HAR document. Bodies are read back as the recorder holds them.
    """
    log = document.get("log") if isinstance(document, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise TypeError("not a HAR document: it has no log.entries list")
    out, odd, first = [], 0, ""
    for number, item in enumerate(entries, 1):
        try:
            out.append(_record(item, number))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            odd += 1
            first = first or f"entry {number}, {exc.__class__.__name__}: {exc}"
    left_out = f"{odd} unreadable entr{'ies' if odd != 1 else 'y'} skipped: {first}" if odd else ""
    marked = log.get("_markers") if isinstance(log, dict) else None
    out += [m for m in (marked if isinstance(marked, list) else ()) if isinstance(m, dict) and is_marker(m)]
    return out, left_out


def _record(item: dict, number: int) -> dict:
    """One HAR entry back to the record `entry` made it from (a browser's entry: as near as it has)."""
    request, response = item.get("request") or {}, item.get("response") or {}
    url = urlsplit(str(request.get("url", "")))
    status = int(response.get("status") or 0)
    seq = item.get("_seq")
    record = {
        "seq": seq if type(seq) is int else number,
        "ts": item.get("startedDateTime", ""),
        "clock_sec": item.get("_clock_sec"),
        "rpc": item.get("_rpc") or url.path.rstrip("/").rsplit("/", 1)[-1],
        "method": request.get("method", "GET"),
        "path": url.path,
        "query": url.query,
        "request": {"headers": _headers(request.get("headers")), "body": _body(request.get("postData") or {})},
        # Status 0: what browsers write for a request that got no answer.
        "response": {
            "status": status,
            "headers": _headers(response.get("headers")),
            "body": _body(response.get("content") or {}),
        }
        if status
        else None,
        "duration_ms": float(item.get("time") or 0),
        "faults": item.get("_faults") or [],
        "warnings": item.get("_warnings") or [],
    }
    if not status:
        record["no_response"] = response.get("_error") or "no response"
    if item.get("_pii_redacted"):
        record["pii_redacted"] = True
    return record


def _headers(pairs) -> dict:
    return {str(pair["name"]): str(pair["value"]) for pair in pairs or ()}


def _body(content: dict):
    """postData or content back to a recorded body: JSON parsed as the recorder would, else text."""
    text = content.get("text") or ""
    if content.get("encoding") == "base64":
        try:
            return decode_body(base64.b64decode(text, validate=True))
        except binascii.Error as exc:
            raise ValueError(f"bad base64 body: {exc}") from None
    return decode_body(text.encode())
