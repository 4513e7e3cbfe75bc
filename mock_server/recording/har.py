"""Journal records -> HAR 1.2, streamed entry by entry (browser devtools and HAR viewers open it)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Iterable, Iterator
from urllib.parse import parse_qsl

import orjson

from .. import __version__

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
    url = origin + record.get("path", "") + (f"?{query}" if query else "")
    req_text = body_text(req.get("body"))
    request = {
        "method": record.get("method", "POST"), "url": url, "httpVersion": HTTP_VERSION,
        "headers": _pairs(req_headers), "queryString": [{"name": k, "value": v} for k, v in parse_qsl(query)],
        "cookies": [], "headersSize": -1, "bodySize": len(req_text.encode()),
    }
    if req_text or request["method"] != "GET":
        request["postData"] = {"mimeType": _mime(req_headers), "text": req_text}
    resp = record.get("response")
    duration = float(record.get("duration_ms") or 0)
    har = {
        "startedDateTime": record.get("ts", "1970-01-01T00:00:00.000Z"), "time": duration,
        "request": request, "response": _response(resp, record),
        "cache": {}, "timings": {"send": 0, "wait": duration, "receive": 0},
        "_seq": record.get("seq"), "_rpc": record.get("rpc"),
        "_faults": record.get("faults") or [], "_warnings": record.get("warnings") or [],
    }
    if resp is None:
        har["comment"] = f"no response: {record.get('no_response') or 'connection dropped'}"
    return har


def _response(resp: dict | None, record: dict) -> dict:
    if resp is None:
        # What browsers write for a request that got no answer: status 0, empty content.
        return {"status": 0, "statusText": "", "httpVersion": HTTP_VERSION, "headers": [], "cookies": [],
                "content": {"size": 0, "mimeType": "x-unknown", "text": ""}, "redirectURL": "",
                "headersSize": -1, "bodySize": -1, "_error": record.get("no_response") or "connection dropped"}
    text = body_text(resp.get("body"))
    size = len(text.encode())
    status = int(resp.get("status", 0))
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    headers = resp.get("headers") or {}
    return {
        "status": status, "statusText": reason, "httpVersion": HTTP_VERSION, "headers": _pairs(headers),
        "cookies": [], "content": {"size": size, "mimeType": _mime(headers), "text": text},
        "redirectURL": next((v for k, v in headers.items() if k.lower() == "location"), ""),
        "headersSize": -1, "bodySize": size,
    }


def stream(records: Iterable[dict], base_url: str) -> Iterator[bytes]:
    """The HAR document in chunks: memory stays flat however long the journal is."""
    log = {"version": "1.2", "creator": {"name": "rwg-booking-sandbox", "version": __version__},
           "pages": [], "entries": []}
    head = orjson.dumps({"log": log})
    # Split the empty entries array open and stream the entries into it.
    opening, closing = head.split(b'"entries":[]')
    yield opening + b'"entries":['
    first = True
    for record in records:
        yield (b"" if first else b",") + orjson.dumps(entry(record, base_url))
        first = False
    yield b"]" + closing
