"""Replay against a server: re-send recorded /v3 requests in order and diff the answers (stdlib client only)."""

from __future__ import annotations

import base64
import difflib
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..api.common import nests_deeper
from .har import body_text
from .lines import KEPT_DEPTH
from .markers import is_marker
from .replay_markers import AdminError, MarkerOutcome, MarkerPlayer, anchor_warning
from .replay_mock import Recording, is_exchange, load_recording

# Free text and clock readings differ between servers without the behaviour differing.
DEFAULT_VOLATILE = frozenset({"description", "message", "create_time", "update_time", "timestamp"})
# The ids a sandbox numbers (B..., W...): a replay maps the recording's to the target's.
_ID_KEYS = frozenset({"booking_id", "waitlist_entry_id"})


class TargetUnreachable(Exception):
    """The target refused the very first connection: nothing listens there."""


@dataclass
class Outcome:
    """The verdict on one re-sent exchange."""

    seq: int
    rpc: str
    matched: bool
    status: tuple[int | None, int | None]  # (recorded, target)
    diff: str = ""
    error: str = ""


@dataclass
class Report:
    """All verdicts; `ok` only when there was something to compare and every exchange matched."""

    outcomes: list[Outcome] = field(default_factory=list)
    id_map: dict[str, str] = field(default_factory=dict)
    skipped: int = 0  # exchanges with no recorded answer
    faulted: int = 0  # faulted exchanges left out (--skip-faulted)
    markers: list[MarkerOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.outcomes) and all(o.matched for o in self.outcomes)


class Target:
    """A booking server reached over HTTP with urllib."""

    def __init__(self, base_url: str, basic_auth: str = "", admin_token: str = "", timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.auth = "Basic " + base64.b64encode(basic_auth.encode()).decode() if basic_auth else None
        self.admin_token = admin_token
        self.timeout = timeout

    def send(self, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, bytes]:
        """(status, body bytes); HTTP errors are answers too, only network failures raise."""
        request = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read()

    def admin(self, method: str, path: str, payload: dict | None = None) -> dict:
        """Call the sandbox's /_admin API (only meaningful when the target is an rwg-sandbox)."""
        headers = {"Content-Type": "application/json"}
        if self.admin_token:
            headers["Authorization"] = f"Bearer {self.admin_token}"
        data = None if payload is None else json.dumps(payload).encode()
        status, body = self.send(method, path, data, headers)
        if status >= 400:
            raise AdminError(status, f"{method} {path} answered {status}: {body[:200].decode(errors='replace')}")
        return json.loads(body or b"{}")


def learn_ids(recorded, actual, id_map: dict[str, str]) -> None:
    """Walk both answers side by side; each booking_id (waitlist_entry_id) pair teaches recorded id -> target id."""
    if isinstance(recorded, dict) and isinstance(actual, dict):
        for key, value in recorded.items():
            other = actual.get(key)
            if key in _ID_KEYS and isinstance(value, str) and isinstance(other, str):
                id_map.setdefault(value, other)
            else:
                learn_ids(value, other, id_map)
    elif isinstance(recorded, list) and isinstance(actual, list):
        for left, right in zip(recorded, actual, strict=False):  # lists of different lengths pair up to the shorter
            learn_ids(left, right, id_map)


def map_ids(value, id_map: dict[str, str]):
    """A copy of a JSON value with every booking_id (waitlist_entry_id) rewritten through the map."""
    if isinstance(value, dict):
        return {
            k: (id_map.get(v, v) if k in _ID_KEYS and isinstance(v, str) else map_ids(v, id_map))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [map_ids(item, id_map) for item in value]
    return value


def without(value, volatile: frozenset[str]):
    """A copy of a JSON value without the volatile fields."""
    if isinstance(value, dict):
        return {k: without(v, volatile) for k, v in value.items() if k not in volatile}
    if isinstance(value, list):
        return [without(item, volatile) for item in value]
    return value


def _parse(data: bytes):
    # Nested deeper than the recorder keeps as JSON: compared as text, as it was recorded (and no recursion).
    if data and nests_deeper(data, KEPT_DEPTH):
        return data.decode("utf-8", errors="replace")
    try:
        return json.loads(data) if data else None
    except ValueError:
        return data.decode("utf-8", errors="replace")


def _pretty(status, body) -> list[str]:
    text = json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) if not isinstance(body, str) else body
    return [f"HTTP {status}"] + text.splitlines()


def replay(
    source: Path | Recording,
    target: Target,
    volatile: frozenset[str] = DEFAULT_VOLATILE,
    on_outcome: Callable[[Outcome], None] | None = None,
    *,
    apply_markers: bool = True,
    skip_faulted: bool = False,
    on_marker: Callable[[MarkerOutcome], None] | None = None,
) -> Report:
    """Re-send every answered /v3 request of the recording (JSONL or HAR), in order, and compare status and body.

    Its markers (resets, clock changes, fault rules, ... between the exchanges) are made again on the target in
    their place (`apply_markers`; the target must be an rwg-sandbox), or only reported. `skip_faulted` leaves out
    the exchanges a fault changed, and the fault rules' markers with them (an armed rule would fire on the next
    exchange instead). A file with nothing to re-send raises UnusableRecording: a replay that checked nothing
    never passes.
    """
    recording = source if isinstance(source, Recording) else load_recording(Path(source))
    report = Report()
    player = MarkerPlayer(target, report.id_map, apply_markers, skip_faulted)
    for record in recording.records:
        if is_marker(record):
            marked = player.play(record)
            if _nothing_done(report) and "refused" in marked.note.lower():
                raise TargetUnreachable(f"{target.base_url}: {marked.note}")
            report.markers.append(marked)
            if on_marker is not None:
                on_marker(marked)
            continue
        if not is_exchange(record):
            report.skipped += 1  # a dropped connection has no answer to compare with
            continue
        if skip_faulted and record.get("faults"):
            report.faulted += 1
            continue
        outcome = _replay_one(record, target, volatile, report.id_map)
        if _nothing_done(report) and outcome.status[1] is None and "refused" in outcome.error.lower():
            raise TargetUnreachable(f"{target.base_url}: {outcome.error}")
        report.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return report


def _replay_one(record: dict, target: Target, volatile: frozenset[str], id_map: dict[str, str]) -> Outcome:
    req, resp = record.get("request") or {}, record["response"]
    seq, rpc = record.get("seq", 0), record.get("rpc", "")
    body = map_ids(req.get("body"), id_map)
    headers = {k: v for k, v in (req.get("headers") or {}).items() if k.lower() == "content-type"}
    if body is not None and not isinstance(body, str):
        headers.setdefault("Content-Type", "application/json")
    if target.auth:
        headers["Authorization"] = target.auth
    path = record["path"] + (f"?{record['query']}" if record.get("query") else "")
    data = None if body is None else body_text(body).encode()
    try:
        status, raw = target.send(record.get("method", "POST"), path, data, headers)
    except (OSError, urllib.error.URLError) as exc:
        return Outcome(seq, rpc, False, (resp.get("status"), None), error=f"no answer: {exc}")
    actual = _parse(raw)
    learn_ids(resp.get("body"), actual, id_map)
    expected = without(map_ids(resp.get("body"), id_map), volatile)
    actual = without(actual, volatile)
    if status == resp.get("status") and expected == actual:
        return Outcome(seq, rpc, True, (resp.get("status"), status))
    diff = "\n".join(
        difflib.unified_diff(
            _pretty(resp.get("status"), expected),
            _pretty(status, actual),
            fromfile=f"recorded #{seq}",
            tofile="target",
            lineterm="",
        )
    )
    return Outcome(seq, rpc, False, (resp.get("status"), status), diff=diff)


def _nothing_done(report: Report) -> bool:
    """Nothing reached the target yet: a refused connection now means nothing listens there."""
    return not report.outcomes and not any(m.applied for m in report.markers)


def reset_sandbox(target: Target, records: list[dict]) -> str:
    """Reset an rwg-sandbox target; a warning when its slots sit on another day than the recording's."""
    health = target.admin("POST", "/_admin/reset")
    recorded = next((r["clock_sec"] for r in records if isinstance(r.get("clock_sec"), int)), None)
    return anchor_warning(recorded, health.get("anchor_sec"))
