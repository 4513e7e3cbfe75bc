"""Journal lines back to records, whatever a line holds: the one way in for every reader of a journal.

A journal can hold lines no reader takes as they are: torn by a crash or a full disk, or written by an
older version with a body nested deeper than orjson writes (254 levels) or even reads (1024). Readers
(the admin API, both exports, the dashboard, both replays) go through `record_of`, so such a line costs
that line at most, never the page or the document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import orjson

from ..api.common import nests_deeper

# A body nested deeper than this is kept as its text: a record holds its bodies two levels down and the
# admin listing wraps records in two more, 250 + 4 = 254, what orjson writes.
KEPT_DEPTH = 250
_BODY_LEVEL = 3  # record {} > request/response {} > body
_LINE_DEPTH = KEPT_DEPTH + _BODY_LEVEL - 1
# A JSON string (escapes included), or a bracket: the tokens that decide the nesting of a line.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_OPENING, _CLOSING = frozenset(b"[{"), frozenset(b"]}")
_SEQ = re.compile(rb'\{"seq":(\d{1,18}),')
NOT_WHOLE = "not a whole JSON record (torn by a crash or a full disk?)"
NOT_AN_OBJECT = "not a JSON object"


def record_of(line: bytes) -> dict | None:
    """The record on a journal line, any body nested too deep for orjson as its text; None if it holds none."""
    record = _read(line)
    if record is None:
        # Torn, or nested deeper than orjson reads (1024) or writes (254): with its deep bodies as text, a
        # line the recorder wrote reads; a torn one still does not.
        record = _read(bodies_as_text(line))
    return record if type(record) is dict else None


def _read(line: bytes):
    """The JSON value of a line if orjson can also write it back (then every reader can take it), else None."""
    try:
        value = orjson.loads(line)
        orjson.dumps(value)  # a fifth of the parse's cost
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return None
    return value


def why_unreadable(line: bytes) -> str:
    """Why `record_of` found no record on this line."""
    try:
        value = orjson.loads(bodies_as_text(line))
    except orjson.JSONDecodeError:
        return NOT_WHOLE
    return NOT_AN_OBJECT if type(value) is not dict else "nested too deep outside its bodies"


def seq_of(line: bytes) -> int | None:
    """The seq a line starts with (as the recorder writes it), even when the rest is unreadable."""
    match = _SEQ.match(line)
    return int(match[1]) if match else None


def stand_in(line: bytes) -> dict:
    """What a reader shows for a line that holds no record: its seq, why, and the line as text."""
    return {"seq": seq_of(line), "unreadable": why_unreadable(line), "text": line.decode("utf-8", "replace")}


def encodable(line: bytes) -> orjson.Fragment | dict:
    """A line to embed in a JSON answer: as it is, unless a body nests too deep (then the record, bodies as text)."""
    if not nests_deeper(line, _LINE_DEPTH):
        return orjson.Fragment(line)
    record = _read(bodies_as_text(line))  # at most _LINE_DEPTH now: room for the answer around it
    return record if type(record) is dict else stand_in(line)


def bodies_as_text(line: bytes) -> bytes:
    """The line with every body nested deeper than KEPT_DEPTH replaced by a JSON string of its text.

    A body is any value that opens at the third level (in `request` or `response`); only brackets outside
    strings count. Slow (a Python step per string and bracket), so only for the lines that need it.
    """
    out: list[bytes] = []
    copied, level, start, deepest = 0, 0, -1, 0
    for token in _TOKENS.finditer(line):
        char = line[token.start()]
        if char in _OPENING:
            level += 1
            if level == _BODY_LEVEL:
                start, deepest = token.start(), level
            deepest = max(deepest, level)
        elif char in _CLOSING:
            if level == _BODY_LEVEL and start >= 0:
                if deepest - _BODY_LEVEL + 1 > KEPT_DEPTH:
                    text = line[start : token.end()].decode("utf-8", "replace")
                    out += (line[copied:start], orjson.dumps(text))
                    copied = token.end()
                start = -1
            level -= 1
    out.append(line[copied:])
    return b"".join(out)


class Reader:
    """The records of a sequence of lines, counting the lines that hold none (blank lines aside)."""

    def __init__(self, lines: Iterable[bytes]):
        self._lines = lines
        self.lines = 0  # non-blank lines read
        self.unreadable = 0
        self.first_problem: tuple[int, str] | None = None  # (line number, why) of the first unreadable line

    def __iter__(self) -> Iterator[dict]:
        for number, line in enumerate(self._lines, 1):
            line = line.strip()
            if not line:
                continue
            self.lines += 1
            record = record_of(line)
            if record is None:
                self.unreadable += 1
                if self.first_problem is None:
                    self.first_problem = (number, why_unreadable(line))
                continue
            yield record

    def skipped(self, verb: str) -> str:
        """'N unreadable line(s) <verb>: line K, why', or '' when every line was read."""
        if self.first_problem is None:
            return ""
        number, why = self.first_problem
        return f"{self.unreadable} unreadable line{'s' if self.unreadable != 1 else ''} {verb}: line {number}, {why}"
