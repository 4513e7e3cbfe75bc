"""Replay as a mock (MOCK_REPLAY): answer /v3 requests from a recording instead of live state."""

from __future__ import annotations

import copy
import logging
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import orjson

from . import har
from .canonical import canonical, differences, flatten, ignore_set, key_of, similarity
from .capture import decode_body
from .lines import Reader
from .redact import redact_pii

MISS_STATUS = 404  # like WireMock: "no recorded exchange matches this request"
# Recomputed by the server that answers the replay, or meaningless for it.
_DROPPED_HEADERS = frozenset({"content-length", "date", "server", "connection", "transfer-encoding", "x-sandbox-steps"})
# A HAR document opens with its "log" (the sandbox's export on one line, a browser's indented); a journal
# line opens with "seq".
_HAR_START = re.compile(rb'\A(?:\xef\xbb\xbf)?\s*\{\s*"log"\s*:')

log = logging.getLogger("mock_server.recording")


class UnusableRecording(Exception):
    """A recording a replay can take nothing from; the message says why, in one line."""


@dataclass
class Recording:
    """The records of a recording file (a JSONL journal or a HAR document), in seq order."""

    records: list[dict]
    kind: str  # "journal" or "HAR document"
    items: int  # non-blank lines of a journal, entries of a HAR document
    skipped: str = ""  # what could not be read: "" or "N unreadable lines skipped: line K, why"
    first_problem: tuple[int, str] | None = None

    @property
    def exchanges(self) -> int:
        """Exchanges a replay can use: answered /v3 ones."""
        return sum(1 for record in self.records if is_exchange(record))

    def problem(self) -> str:
        """Why nothing in it can be replayed, or '' when something can."""
        if self.exchanges:
            return ""
        if self.kind == "HAR document":
            entries = "entry" if self.items == 1 else "entries"
            return f"a HAR document with no /v3 entry that has an answer ({self.items} {entries}" + (
                f"; {self.skipped})" if self.skipped else ")"
            )
        if not self.items:
            return "the file is empty"
        if not self.records:
            number, why = self.first_problem or (0, "")
            lines = "line" if self.items == 1 else "lines"
            return f"not a recording: none of its {self.items} {lines} is a journal record (line {number}: {why})"
        records = "record" if len(self.records) == 1 else "records"
        return f"no answered /v3 exchange among its {len(self.records)} {records}"


def is_exchange(record: dict) -> bool:
    """An answered /v3 exchange: what a replay can give back or compare with (a dropped connection is not)."""
    return (
        isinstance(record.get("response"), dict)
        and str(record.get("path", "")).startswith("/v3")
        and isinstance(record.get("request") or {}, dict)
    )


def load_recording(path: Path) -> Recording:
    """A recording with at least one exchange to replay; UnusableRecording (why) otherwise."""
    recording = read_recording(path)
    problem = recording.problem()
    if problem:
        raise UnusableRecording(problem)
    return recording


def read_recording(path: Path) -> Recording:
    """Every readable record of a JSONL journal or a HAR export (torn or odd lines are counted, not fatal)."""
    with open(path, "rb") as handle:
        if _HAR_START.match(handle.read(4096)):
            handle.seek(0)
            recording = _read_har(handle.read())
        else:
            handle.seek(0)
            reader = Reader(handle)
            records = list(reader)
            recording = Recording(records, "journal", reader.lines, reader.skipped("skipped"), reader.first_problem)
    # Two concurrent exchanges may have landed in the file in either order.
    recording.records.sort(key=_seq_key)
    return recording


def _seq_key(record: dict) -> int:
    """The record's seq, 0 when it has none (or not a number)."""
    seq = record.get("seq")
    return seq if isinstance(seq, int) else 0


def _read_har(data: bytes) -> Recording:
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UnusableRecording(f"not a whole HAR document ({exc}): cut short?") from None
    try:
        records, skipped = har.records(document)
    except TypeError as exc:
        raise UnusableRecording(str(exc)) from None
    return Recording(records, "HAR document", len(document["log"]["entries"]), skipped)


def read_records(path: Path) -> list[dict]:
    """Every readable record of a recording (JSONL or HAR), in seq order (a torn line after a crash is skipped)."""
    return read_recording(path).records


@dataclass
class Recorded:
    """One recorded exchange the mock can answer with."""

    seq: int
    rpc: str
    body: object
    response: dict


class ReplayBook:
    """Recorded answers by (RPC, canonical body); identical requests get their answers in order."""

    def __init__(self, records: list[dict], ignore: str = "idempotency_token", source: str = ""):
        self.source = source
        self.ignore = ignore_set(ignore)
        self.redacted = any(r.get("pii_redacted") for r in records)
        self._answers: dict[bytes, list[Recorded]] = defaultdict(list)
        self._by_rpc: dict[str, list[Recorded]] = defaultdict(list)
        for record in records:
            if not is_exchange(record):
                continue  # a dropped connection has no answer to give back
            body = (record.get("request") or {}).get("body")
            item = Recorded(record.get("seq", 0), record.get("rpc", ""), body, record["response"])
            self._answers[key_of(item.rpc, body, self.ignore)].append(item)
            self._by_rpc[item.rpc].append(item)
        self._lock = threading.Lock()
        self._served: Counter[bytes] = Counter()
        self.misses = 0

    @classmethod
    def load(cls, path: Path, ignore: str) -> ReplayBook:
        """Read a recording (JSONL journal or HAR export); SystemExit naming the file when it has nothing to give."""
        try:
            recording = load_recording(path)
        except UnusableRecording as exc:
            raise SystemExit(f"MOCK_REPLAY: {path}: {exc}") from None
        except OSError as exc:
            raise SystemExit(f"MOCK_REPLAY: {path}: {exc.strerror or exc}") from None
        if recording.skipped:
            log.warning("MOCK_REPLAY: %s: %s", path, recording.skipped)
        return cls(recording.records, ignore, str(path))

    def __len__(self) -> int:
        return sum(len(v) for v in self._answers.values())

    def answer(self, rpc: str, body) -> Recorded | None:
        """The next recorded answer to this request (the last one repeats), or None."""
        if self.redacted:
            body = redact_pii(body)  # the recording holds pseudonyms: compare like with like
        key = key_of(rpc, body, self.ignore)
        answers = self._answers.get(key)
        with self._lock:
            if not answers:
                self.misses += 1
                return None
            position = self._served[key]
            self._served[key] = position + 1
        return answers[min(position, len(answers) - 1)]

    def closest(self, rpc: str, body) -> dict:
        """The recorded request nearest to this one, with how it differs (for the miss message)."""
        if self.redacted:
            body = redact_pii(body)
        candidates = self._by_rpc.get(rpc)
        if not candidates:
            known = ", ".join(f"{name} x{len(items)}" for name, items in sorted(self._by_rpc.items())) or "nothing"
            return {
                "seq": None,
                "rpc": None,
                "score": 0.0,
                "differences": [f"the recording has no {rpc} exchange; it has: {known}"],
            }
        sent = flatten(canonical(body, self.ignore))
        best, best_score, best_flat = None, -1.0, {}
        for item in candidates:
            flat = flatten(canonical(item.body, self.ignore))
            score = similarity(flat, sent)
            if score > best_score:
                best, best_score, best_flat = item, score, flat
        assert best is not None  # candidates is not empty and every score is >= 0
        return {"seq": best.seq, "rpc": rpc, "score": round(best_score, 3), "differences": differences(best_flat, sent)}

    def status(self) -> dict:
        """What has been played so far (like a cassette's play count)."""
        with self._lock:
            served = dict(self._served)
        unplayed = sorted(item.seq for key, items in self._answers.items() if not served.get(key) for item in items)
        return {
            "source": self.source,
            "exchanges": len(self),
            "played": sum(served.values()),
            "misses": self.misses,
            "unplayed_seqs": unplayed[:1000],
        }

    def rewind(self) -> None:
        """Start every sequence from its first answer again (on reset)."""
        with self._lock:
            self._served.clear()
            self.misses = 0


def answer_from(book: ReplayBook, exchange) -> None:
    """Answer a routed /v3 exchange from the book: the recorded answer, or a 404 naming the closest one."""
    rpc = exchange.rpc
    body = decode_body(exchange.raw)
    item = book.answer(rpc, body)
    if item is None:
        miss(book, rpc, body, exchange)
        return
    resp = item.response
    recorded = resp.get("body")
    data = b"" if recorded is None else recorded.encode() if isinstance(recorded, str) else orjson.dumps(recorded)
    headers = [(k, str(v)) for k, v in (resp.get("headers") or {}).items() if k.lower() not in _DROPPED_HEADERS]
    content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
    others = [(k, v) for k, v in headers if k.lower() != "content-type"]
    # A JSON answer is answered as a payload, so the fault steps can read and change it as they do a live one
    # (a copy: slot_taken changes it in place, and the book must stay as recorded).
    payload = copy.deepcopy(recorded) if isinstance(recorded, dict) else None
    exchange.answer(
        int(resp.get("status", 200)),
        payload,
        [*others, ("X-Sandbox-Replay", f"seq={item.seq}")],
        out=None if payload is not None else data,
    )
    exchange.content_type = content_type


def miss(book: ReplayBook, rpc: str, body, exchange) -> None:
    """404 JSON error naming the closest recorded request and how it differs."""
    near = book.closest(rpc, body)
    if near["seq"] is None:
        message = f"replay: no recorded exchange matches this {rpc} request; {near['differences'][0]}"
    else:
        message = (
            f"replay: no recorded exchange matches this {rpc} request; closest is seq {near['seq']} "
            f"(similarity {near['score']}): " + "; ".join(near["differences"])
        )
    payload = {"code": MISS_STATUS, "status": "Not Found", "message": message, "closest": near}
    exchange.answer(MISS_STATUS, payload, [("X-Sandbox-Replay", "miss")])
